/**
 * Where the batcher hands spooled batches: the OpenTelemetry exporter shape. The batch itself is
 * already durable in the spool when `export` is called, so an exporter that is down loses
 * nothing; it sends what the spool holds once it can.
 */
export interface BatchExporter {
  /** A new batch is in the spool. Starts the exporter's link if it is not up yet. */
  export(seq: number): void;
  /** Resolves true once everything spooled is acknowledged; false after timeoutMs or if it never will be. */
  forceFlush(timeoutMs: number): Promise<boolean>;
  /** Stops for good: no timer, socket or callback outlives it. Runs once; later calls get the same promise. */
  shutdown(): Promise<void>;
}
