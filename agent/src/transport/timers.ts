/**
 * The timers of one owner (a connection, the batcher, the client's reconnect wait), each
 * `unref()`'d and cleared together: what an owner started never fires after it ended, and never
 * keeps the process alive by itself (the samplers, an open socket or a caller awaiting a
 * deadline do that).
 */
export class TimerSet {
  private readonly live = new Set<NodeJS.Timeout>();

  timeout(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.live.delete(t);
      fn();
    }, ms);
    t.unref();
    this.live.add(t);
    return t;
  }

  interval(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setInterval(fn, ms);
    t.unref();
    this.live.add(t);
    return t;
  }

  cancel(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.live.delete(t);
  }

  clear(): void {
    for (const t of this.live) clearTimeout(t);
    this.live.clear();
  }

  get size(): number {
    return this.live.size;
  }
}
