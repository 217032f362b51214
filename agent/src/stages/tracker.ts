import type { Mark } from '@stagewatch/shared';
import type { Preset, Rule } from './log-rules.js';
import { ProgressBar, type ProgressEvent } from './progress.js';

type StageRule = Extract<Rule, { stage: string }>;
type StepRule = Extract<Rule, { step: string }>;

/**
 * Turns log lines into marks, as the lines are printed. Logged stages are sequential: a new stage
 * ends the one before. Progress counts `k/N` time the steps (see ProgressBar). Two stages that no
 * line names are inferred where the preset says so:
 * - `before` (T5 encoding in Wan's generate.py): from the line to the first progress update. Its
 *   marks wait for that update, since only then is it known that the span was not the whole
 *   generation; without a progress bar the line begins its own stage, as any logged stage.
 * - `after` (VAE decoding): from the bar's completion to the next logged stage or the exit.
 */
export class LogStageTracker {
  private readonly rules: Array<{ re: RegExp; rule: Rule }>;
  private current: { stage: string; inferred?: string } | null = null;
  private stageStart = 0;
  private pendingBefore: { rule: StageRule; t: number } | null = null;
  /** The bar being read; a completed one is kept so late redraws (other ranks, close()) are ignored. */
  private bar: { rule: StepRule; bar: ProgressBar } | null = null;

  constructor(preset: Preset) {
    this.rules = preset.rules.map((rule) => ({ re: new RegExp(rule.pattern), rule }));
  }

  /**
   * Marks for one line seen at time t (most lines give none). `partial`: the text has no line end
   * yet (a bar tqdm just drew); only a progress count that is clearly complete is read from it.
   */
  line(text: string, t: number, partial = false): Mark[] {
    for (const { re, rule } of this.rules) {
      if (partial && !('step' in rule)) continue;
      const m = re.exec(text);
      if (!m) continue;
      if ('end' in rule) return this.finish(t);
      if ('stage' in rule) return this.logged(rule, t);
      const k = Number(m.groups?.step);
      const total = Number(m.groups?.total);
      if (!Number.isInteger(k) || !Number.isInteger(total) || total <= 0) return [];
      // Cut at a chunk boundary, "| 1" may be the start of "| 12/50": read a tail only when something follows the count.
      if (partial && m.index + m[0].length >= text.length) return [];
      return this.progress(rule, k, total, t);
    }
    return [];
  }

  /** Ends whatever is open (the workload exited, or logged that it finished). */
  finish(t: number): Mark[] {
    const out = this.flushBefore(t);
    const bar = this.bar;
    if (bar && !bar.bar.completed) {
      out.push(...bar.bar.close(t).map((s) => this.mark(s.kind, bar.rule.step, s.t, s.step, s.inferred)));
      this.bar = null;
    }
    if (this.current) out.push(this.mark('end', this.current.stage, t, undefined, this.current.inferred));
    this.current = null;
    return out;
  }

  private logged(rule: StageRule, t: number): Mark[] {
    if (this.pendingBefore?.rule.before?.stage === rule.stage) {
      // The workload names the stage that was to be inferred: its own line begins it.
      this.pendingBefore = null;
      return this.enter(rule.stage, t);
    }
    if (rule.before && this.current?.stage !== rule.before.stage) {
      const out = this.finish(t);
      this.pendingBefore = { rule, t };
      return out;
    }
    // The workload logged the `before` stage itself: it ends here and this stage begins now.
    return this.enter(rule.stage, t);
  }

  private enter(stage: string, t: number, inferred?: string): Mark[] {
    if (this.current?.stage === stage) return [];
    const out = this.finish(t);
    out.push(this.mark('begin', stage, t, undefined, inferred));
    this.current = { stage, ...(inferred ? { inferred } : {}) };
    this.stageStart = t;
    return out;
  }

  /** A `before` line with no progress after it: it began its own stage, nothing inferred. */
  private flushBefore(t: number): Mark[] {
    const p = this.pendingBefore;
    if (!p) return [];
    this.pendingBefore = null;
    this.current = null;
    return [this.mark('begin', p.rule.stage, p.t), this.mark('end', p.rule.stage, t)];
  }

  private progress(rule: StepRule, k: number, total: number, t: number): Mark[] {
    const out: Mark[] = [];
    let ev: ProgressEvent = this.bar?.rule === rule ? this.bar.bar.update(k, total, t) : { type: 'restart' };
    if (ev.type === 'restart') {
      const p = this.pendingBefore;
      if (p?.rule.before) {
        // The line before the bar began the inferred stage; the bar's first count ends it.
        this.pendingBefore = null;
        out.push(this.mark('begin', p.rule.before.stage, p.t, undefined, p.rule.before.note));
        out.push(this.mark('end', p.rule.before.stage, t, undefined, p.rule.before.note));
      }
      // A log line that began this stage is the start of its first step; else the bar is.
      const logged = this.current?.stage === rule.within && this.bar === null;
      if (!logged) out.push(...this.enter(rule.within, t));
      this.bar = { rule, bar: new ProgressBar(logged ? this.stageStart : null) };
      ev = this.bar.bar.update(k, total, t);
    }
    if (ev.type !== 'steps') return out;
    out.push(...ev.marks.map((s) => this.mark(s.kind, rule.step, s.t, s.step, s.inferred)));
    if (ev.completed && rule.after) {
      const bar = this.bar;
      out.push(...this.enter(rule.after.stage, t, rule.after.note));
      this.bar = bar;
    }
    return out;
  }

  private mark(kind: 'begin' | 'end', stage: string, t: number, step?: number, inferred?: string): Mark {
    return { t, kind, stage, source: 'log', ...(step !== undefined ? { step } : {}), ...(inferred ? { inferred } : {}) };
  }
}
