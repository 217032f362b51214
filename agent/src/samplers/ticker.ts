/**
 * One timer for every in-process sampler on the same interval. Waking an idle Node process costs
 * about 0.1 ms of CPU on the VMs measured (docs/PERFORMANCE.md), more than reading /proc: three
 * samplers on three timers started a few ms apart wake the agent three times per interval, one
 * shared timer once. Samplers also read at the same instant, which keeps their samples aligned.
 */
export class Ticker {
  private readonly tasks = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly intervalMs: number) {}

  /** Runs `task` every interval from the next tick on; returns the way to stop it. */
  add(task: () => void): () => void {
    this.tasks.add(task);
    this.timer ??= setInterval(() => {
      for (const t of [...this.tasks]) t();
    }, this.intervalMs);
    return () => {
      this.tasks.delete(task);
      if (this.tasks.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }
}
