/** A destination fed from the store, in the manner of an OpenTelemetry exporter or a Telegraf output. */
export interface Sink {
  readonly name: string;
  start(): void;
  /** New data was committed: write soon. */
  notify(): void;
  /** Writes everything stored so far; rejects if the destination cannot take it now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
