import type { MarkLike, StageInterval } from './stages.js';

/**
 * Spans as intervals: marks that carry `timing` paired into spans, and the steps they belong to.
 * Pure; breakdown.ts turns them into per-step figures.
 */

export interface SpanMarkLike extends MarkLike {
  timing?: 'cuda' | 'host';
  category?: string;
  dropped?: number;
  /** Where a mark came from (log, http, file); stage marks from log lines are on the log's clock. */
  source?: string;
}

export interface Span {
  name: string;
  category: string;
  rank: number;
  step?: number;
  start: number;
  end: number;
  timing: 'cuda' | 'host';
}

/** Spans carry `timing`; stage marks do not. */
export const isSpanMark = (m: object): boolean => (m as { timing?: unknown }).timing !== undefined;

export const COMM = 'communication';
export const COMPUTE = 'compute';
export const NO_CATEGORY = 'uncategorized';
/** Named-span overlaps are worked out for this many names (largest total first), to bound n². */
export const MAX_OVERLAP_NAMES = 12;

/**
 * Begin/end pairs per (rank, name, step), innermost first. Marks come in time order with ties in
 * arrival order (the store's order), so a span ending where the next begins pairs correctly.
 */
export function pairSpans(marks: readonly SpanMarkLike[]): { spans: Span[]; problems: string[] } {
  const open = new Map<string, SpanMarkLike[]>();
  const spans: Span[] = [];
  let orphanEnds = 0;
  const ordered = marks.map((m, i) => [m, i] as const).sort((a, b) => a[0].t - b[0].t || a[1] - b[1]);
  for (const [m] of ordered) {
    if (m.timing === undefined) continue;
    const key = `${m.rank ?? 0}\u0000${m.stage}\u0000${m.step ?? ''}`;
    const stack = open.get(key) ?? [];
    if (m.kind === 'begin') {
      stack.push(m);
      open.set(key, stack);
      continue;
    }
    const b = stack.pop();
    if (!b) {
      orphanEnds++;
      continue;
    }
    spans.push({
      name: m.stage,
      category: b.category ?? m.category ?? NO_CATEGORY,
      rank: m.rank ?? 0,
      ...(m.step !== undefined ? { step: m.step } : {}),
      start: b.t,
      end: Math.max(b.t, m.t),
      timing: b.timing === m.timing ? (m.timing as 'cuda' | 'host') : 'host',
    });
  }
  const unended = [...open.values()].reduce((a, s) => a + s.length, 0);
  const problems: string[] = [];
  if (orphanEnds > 0) problems.push(`${orphanEnds} span end marks without a begin: ignored`);
  if (unended > 0) problems.push(`${unended} spans never ended: left out of the breakdown`);
  return { spans: spans.sort((a, b) => a.start - b.start), problems };
}

export interface StepSlot {
  step: number;
  /** The step window: the step stage's begin/end (host or log clock), else the step spans' (see step-clock.ts); null where steps come only from span step numbers. */
  start: number | null;
  end: number | null;
}

/**
 * The steps spans are summarised over: the stage with the most numbered intervals (e.g.
 * `denoise_step`), in time order. Null when no stage has step numbers.
 */
export function stepStage(stages: readonly StageInterval[]): { name: string; windows: StepSlot[] } | null {
  const byName = new Map<string, StageInterval[]>();
  for (const s of stages) if (s.step !== undefined) push(byName, s.name, s);
  let best: [string, StageInterval[]] | null = null;
  for (const e of byName) if (best === null || e[1].length > best[1].length) best = e;
  if (!best) return null;
  const windows = best[1].map((s) => ({ step: s.step as number, start: s.start, end: s.end })).sort((a, b) => (a.start as number) - (b.start as number));
  return { name: best[0], windows };
}

/**
 * Which slot a span belongs to (index into slots), or -1. A span with a step number goes to the
 * latest window of that step beginning at or before it (GPU work runs after the host marked
 * the step's begin), else the first window of that step; a span without one, to the window it
 * starts in. Without windows, slots are the span step numbers themselves.
 */
export function slotOf(span: Span, slots: readonly StepSlot[]): number {
  if (span.step !== undefined) {
    let first = -1;
    let latest = -1;
    slots.forEach((w, i) => {
      if (w.step !== span.step) return;
      if (first < 0) first = i;
      if (w.start === null || w.start <= span.start) latest = i;
    });
    return latest >= 0 ? latest : first;
  }
  return slots.findIndex((w) => w.start !== null && w.end !== null && w.start <= span.start && span.start < w.end);
}

/** Each client reports its running total of dropped marks; a host's loss is the sum over ranks of the last total. */
export function droppedCount(marks: readonly SpanMarkLike[]): number {
  const last = new Map<number, number>();
  for (const m of marks) if (m.dropped !== undefined) last.set(m.rank ?? 0, Math.max(last.get(m.rank ?? 0) ?? 0, m.dropped));
  return [...last.values()].reduce((a, b) => a + b, 0);
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

export { push };
