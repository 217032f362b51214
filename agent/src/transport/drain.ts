/** What the drain watches: the spool's size. */
export interface SpoolSize {
  readonly size: { batches: number };
}

/**
 * Waits for the spool to empty (everything acknowledged), and says how long a backlog took to
 * go out after a (re)connect.
 */
export class Drain {
  private waiters: Array<(drained: boolean) => void> = [];
  private catchUp: { since: number; backlog: number; sent: number } | null = null;

  constructor(
    private readonly spool: SpoolSize,
    private readonly log: (msg: string) => void,
  ) {}

  /**
   * Resolves true once the spool is empty, false after timeoutMs or on settle(false). The deadline
   * is the one timer of the transport that is not unref'd: a caller awaiting it (the `marks`
   * command, a daemon stopping while the collector is away) has nothing else holding the process.
   */
  wait(timeoutMs: number): Promise<boolean> {
    if (this.spool.size.batches === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const waiter = (drained: boolean): void => {
        clearTimeout(deadline);
        resolve(drained);
      };
      const deadline = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** A (re)connect with `backlog` batches to send: logged once they are out. */
  backlog(backlog: number): void {
    this.catchUp = backlog > 0 ? { since: Date.now(), backlog, sent: 0 } : null;
  }

  sent(n: number): void {
    if (this.catchUp) this.catchUp.sent += n;
  }

  /** After every send and ack: settles the waiters once the spool is empty. */
  check(): void {
    if (this.spool.size.batches > 0) return;
    if (this.catchUp) {
      const c = this.catchUp;
      this.catchUp = null;
      this.log(`caught up: ${c.sent} batches sent (${c.backlog} were spooled) in ${((Date.now() - c.since) / 1000).toFixed(1)} s`);
    }
    this.settle(true);
  }

  /** Nothing more will be acknowledged (refused for good, or shut down): the waiters hear it now. */
  settle(drained: boolean): void {
    for (const w of this.waiters.splice(0)) w(drained);
  }
}
