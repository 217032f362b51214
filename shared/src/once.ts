/**
 * Runs an async shutdown at most once: every call after the first gets the first call's promise,
 * whatever arguments it passes (OpenTelemetry's BindOnceFuture), so two signals, or a signal and
 * an error path, never close a thing twice.
 */
export class Once<A extends unknown[], T> {
  private promise: Promise<T> | null = null;

  constructor(private readonly fn: (...args: A) => Promise<T>) {}

  call(...args: A): Promise<T> {
    this.promise ??= this.fn(...args);
    return this.promise;
  }

  get called(): boolean {
    return this.promise !== null;
  }
}
