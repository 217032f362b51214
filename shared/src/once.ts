/**
 * Runs an async shutdown at most once: every call after the first gets the first call's promise
 * (OpenTelemetry's BindOnceFuture), so two signals, or a signal and an error path, never close a
 * thing twice.
 */
export class Once<T> {
  private promise: Promise<T> | null = null;

  constructor(private readonly fn: () => Promise<T>) {}

  call(): Promise<T> {
    this.promise ??= this.fn();
    return this.promise;
  }

  get called(): boolean {
    return this.promise !== null;
  }
}
