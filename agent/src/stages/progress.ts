/**
 * Steps from a progress bar's `k/N` counts (tqdm and the like), as they are printed. Pure: the
 * caller says when each count was seen. A count k means k iterations are complete, so step i
 * (0-based) runs from count i to count i+1.
 *
 * What real bars do, and how each is handled:
 * - redraws of the same count (tqdm's `\r` refreshes, the final draw in close()): no-op;
 * - refresh throttling (tqdm's mininterval, 0.1 s by default, and its dynamic miniters): a count
 *   can jump by several steps; the time since the last count is split evenly among them and
 *   their marks say so (`inferred`);
 * - the first count seen above 0: with a known start (a log line began the stage) the steps
 *   before it are timed from that start; without one the bar was resumed (tqdm's `initial=`)
 *   and those steps were not run here, so they are not made up;
 * - several processes drawing their own bars (torchrun ranks): a count below the highest seen is
 *   another rank lagging behind and is ignored; a step ends when the first rank reports it;
 * - after the bar completed only a fresh bar (count 0) starts over: a lagging rank's last draws
 *   must not.
 */

export interface StepMark {
  t: number;
  kind: 'begin' | 'end';
  step: number;
  inferred?: string;
}

export type ProgressEvent =
  | { type: 'steps'; marks: StepMark[]; completed: boolean }
  /** A fresh bar after a completed one: the caller starts a new instance of the stage. */
  | { type: 'restart' }
  | { type: 'none' };

export class ProgressBar {
  /** The highest count seen; null before the first. */
  private count: number | null = null;
  private countAt = 0;
  private open: number | null = null;
  private done = false;

  /** @param knownStart when a log line began the stage, its time: steps before the first count start there. */
  constructor(private readonly knownStart: number | null) {}

  get completed(): boolean {
    return this.done;
  }

  /** The open step, if any (to end it when the workload exits). */
  get openStep(): number | null {
    return this.open;
  }

  update(k: number, total: number, t: number): ProgressEvent {
    if (this.done) return k === 0 ? { type: 'restart' } : { type: 'none' };
    if (this.count === null) return this.first(k, total, t);
    if (k <= this.count) return { type: 'none' };
    const marks = this.complete(this.count, k, this.countAt, t);
    return this.advance(k, total, t, marks);
  }

  /** Ends the open step at t (the workload exited or a new stage began mid-bar). */
  close(t: number): StepMark[] {
    if (this.open === null) return [];
    const m: StepMark = { t, kind: 'end', step: this.open, inferred: 'the bar never reached this step\'s end: ended when the stage did' };
    this.open = null;
    return [m];
  }

  private first(k: number, total: number, t: number): ProgressEvent {
    if (k === 0 || this.knownStart === null) {
      // k > 0 without a known start: a resumed bar (tqdm's initial=k); steps before k are not ours.
      return this.advance(k, total, t, []);
    }
    return this.advance(k, total, t, this.complete(0, k, this.knownStart, t, true));
  }

  /** Steps from..to-1 completed in [since, t]: exact for one step, an even split for several. */
  private complete(from: number, to: number, since: number, t: number, noOpenBegin = false): StepMark[] {
    const n = to - from;
    const out: StepMark[] = [];
    const note = n > 1 ? `progress bar drew steps ${from}-${to - 1} in one update: ${((t - since) / 1000).toFixed(2)} s split evenly` : undefined;
    const d = (t - since) / n;
    if (noOpenBegin) out.push(withNote({ t: since, kind: 'begin', step: from }, note));
    for (let i = from; i < to; i++) {
      const end = i === to - 1 ? t : since + d * (i - from + 1);
      if (i > from) out.push(withNote({ t: since + d * (i - from), kind: 'begin', step: i }, note));
      out.push(withNote({ t: end, kind: 'end', step: i }, note));
    }
    // The open step's begin was sent when it opened, without a note; the split still applies to it.
    return out;
  }

  private advance(k: number, total: number, t: number, marks: StepMark[]): ProgressEvent {
    this.count = k;
    this.countAt = t;
    this.open = null;
    if (k >= total) {
      this.done = true;
      return { type: 'steps', marks, completed: true };
    }
    marks.push({ t, kind: 'begin', step: k });
    this.open = k;
    return { type: 'steps', marks, completed: false };
  }
}

function withNote(m: StepMark, note: string | undefined): StepMark {
  return note === undefined ? m : { ...m, inferred: note };
}
