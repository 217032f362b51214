import { meanOf } from './dist.js';
import { length, union, type Interval } from './intervals.js';
import { push, slotOf, stepStage, type Span, type SpanMarkLike, type StepSlot } from './span-pairs.js';
import type { StageInterval } from './stages.js';

/**
 * Which clock each step's duration is read on, so a share of the step divides like by like.
 *
 * cuda: CUDA events resolved to wall-clock (when the GPU ran the work); host: the workload's
 * clock when it marked (the host runs ahead of the GPU by up to its launch queue, so a host-marked
 * step can read 8 ms while the GPU spends 50 ms on it); log: a log line's timestamp. Pure.
 */
export type Clock = 'cuda' | 'host' | 'log';
export type SpanClock = 'cuda' | 'host' | 'mixed';
/**
 * step-spans: each rank's step timed as a span (category `step`, as `stage(name, step=i)` sends
 * with CUDA up); span-ends: derived from CUDA-timed spans, end of the last span of step i-1 to
 * the end of the last span of step i (the GPU's step period); step-marks: the step stage's
 * begin/end marks (host or log clock).
 */
export type StepSource = 'step-spans' | 'span-ends' | 'step-marks';

/** The category a span timing a whole step carries. */
export const STEP_CATEGORY = 'step';
/** How far a step's spans may exceed the step (ms) before shares are refused: epoch-ms doubles carry about 0.0002 ms of rounding each. */
export const FIT_TOLERANCE_MS = 0.001;

export interface Steps {
  /** The step stage's name, or the step spans' where no stage marks steps. */
  name: string | null;
  slots: StepSlot[];
  /** What clock the slots' windows are on (host/log marks, or step spans'); null without windows. */
  windowClock: Clock | null;
  /** The step stage marks' clock where the windows are that stage's; null where they are not. */
  marksClock: 'host' | 'log' | null;
  /** Per slot, per rank: the step span's interval. */
  stepSpans: Array<Map<number, Interval>>;
  stepSpanClock: 'cuda' | 'host' | null;
  /** The spans that are not step spans: what the breakdown summarises. */
  work: Span[];
  problems: string[];
}

const isStepSpan = (s: Span, stageName: string | null): boolean => s.category === STEP_CATEGORY || (stageName !== null && s.name === stageName);

/** host where any of the stage's boundaries came from the workload itself, log where all came from log lines. */
export function stageClock(marks: readonly SpanMarkLike[], names: ReadonlySet<string>): 'host' | 'log' | null {
  let seen = false;
  for (const m of marks) {
    if (m.timing !== undefined || !names.has(m.stage)) continue;
    if (m.source !== 'log') return 'host';
    seen = true;
  }
  return seen ? 'log' : null;
}

/** The step windows, the step spans that time them per rank, and the spans left to summarise. */
export function findSteps(spans: readonly Span[], stages: readonly StageInterval[], marks: readonly SpanMarkLike[]): Steps {
  const ss = stepStage(stages);
  const problems: string[] = [];
  const all = spans.filter((s) => isStepSpan(s, ss?.name ?? null));
  const work = spans.filter((s) => !isStepSpan(s, ss?.name ?? null));
  // A step recorded before CUDA came up is host-timed; the CUDA-timed ones are the clock to use.
  const stepSpanClock = all.some((s) => s.timing === 'cuda') ? 'cuda' : all.length > 0 ? 'host' : null;
  const stepSpans = all.filter((s) => s.timing === stepSpanClock);
  let slots: StepSlot[];
  let windowClock: Clock | null;
  let marksClock: 'host' | 'log' | null = null;
  let name = ss?.name ?? null;
  if (ss) {
    slots = ss.windows;
    marksClock = stageClock(marks, new Set([ss.name])) ?? 'host';
    windowClock = marksClock;
  } else if (stepSpans.length > 0) {
    slots = slotsFromStepSpans(stepSpans);
    windowClock = stepSpanClock;
    name = mostCommon(stepSpans.map((s) => s.name));
  } else {
    slots = [...new Set(work.map((s) => s.step).filter((x): x is number => x !== undefined))].sort((a, b) => a - b).map((step) => ({ step, start: null, end: null }));
    windowClock = null;
  }
  const perSlot = slots.map(() => new Map<number, Interval>());
  let unplaced = 0;
  for (const s of stepSpans) {
    const i = slotOf(s, slots);
    const m = perSlot[i];
    if (m === undefined || m.has(s.rank)) unplaced++;
    else m.set(s.rank, [s.start, s.end]);
  }
  if (unplaced > 0) problems.push(`${unplaced} step spans matched no step (or a step already timed on their rank): left out`);
  return { name, slots, windowClock, marksClock, stepSpans: perSlot, stepSpanClock, work, problems };
}

/** Without step stages: the k-th step span of step n on each rank is the k-th window of step n, spanning all ranks'. */
function slotsFromStepSpans(stepSpans: readonly Span[]): StepSlot[] {
  const occ = new Map<string, number>();
  const byKey = new Map<string, { step: number; start: number; end: number }>();
  for (const s of [...stepSpans].sort((a, b) => a.start - b.start)) {
    if (s.step === undefined) continue;
    const rk = `${s.rank}\u0000${s.step}`;
    const k = occ.get(rk) ?? 0;
    occ.set(rk, k + 1);
    const key = `${s.step}\u0000${k}`;
    const w = byKey.get(key);
    if (w) {
      w.start = Math.min(w.start, s.start);
      w.end = Math.max(w.end, s.end);
    } else byKey.set(key, { step: s.step, start: s.start, end: s.end });
  }
  return [...byKey.values()].sort((a, b) => a.start - b.start);
}

function mostCommon(xs: readonly string[]): string | null {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x, (n.get(x) ?? 0) + 1);
  let best: string | null = null;
  for (const [k, v] of n) if (best === null || v > (n.get(best) as number)) best = k;
  return best;
}

/**
 * Which step a span belongs to: by its step number where it has one (slotOf); without one, by
 * time: the step span of its rank it starts in, else the step window it starts in. `byTime` is
 * true where the span was placed in a window on another clock than its own (a CUDA span in a
 * host-marked window: the GPU runs behind the host, so it may land a step late).
 */
export function placeSpan(s: Span, steps: Steps): { slot: number; byTime: boolean } {
  if (s.step !== undefined) return { slot: slotOf(s, steps.slots), byTime: false };
  const i = steps.stepSpans.findIndex((m) => {
    const iv = m.get(s.rank);
    return iv !== undefined && iv[0] <= s.start && s.start < iv[1];
  });
  if (i >= 0) return { slot: i, byTime: false };
  const slot = slotOf(s, steps.slots);
  return { slot, byTime: slot >= 0 && steps.windowClock !== s.timing };
}

export interface StepTiming {
  clock: Clock | null;
  source: StepSource | null;
  /** Per slot, per rank: the step's duration on `clock` (absent where unknown). */
  perRank: Array<Map<number, number>>;
  /** Per slot: mean over ranks, or null. */
  slotMs: Array<number | null>;
}

/** The spans' clock: cuda or host where all agree, mixed otherwise, null without spans. */
export function spanClockOf(spans: readonly Span[]): SpanClock | null {
  const t = new Set(spans.map((s) => s.timing));
  return t.size === 0 ? null : t.size > 1 ? 'mixed' : (spans[0] as Span).timing;
}

/**
 * The step durations to divide by: the first source whose clock is the spans' clock, in the
 * order step spans, span ends, step marks; where none is, the first there is (and shares are
 * refused by the caller).
 */
export function stepTiming(steps: Steps, inSlot: ReadonlyArray<readonly Span[]>, spanClock: SpanClock | null): StepTiming {
  const cands: Array<{ clock: Clock; source: StepSource; perRank: Array<Map<number, number>> }> = [];
  if (steps.stepSpanClock !== null && steps.stepSpans.some((m) => m.size > 0)) {
    cands.push({ clock: steps.stepSpanClock, source: 'step-spans', perRank: steps.stepSpans.map((m) => new Map([...m].map(([r, [a, b]]) => [r, b - a] as const))) });
  }
  if (spanClock === 'cuda') {
    const ends = spanEnds(steps.slots, inSlot);
    if (ends.some((m) => m.size > 0)) cands.push({ clock: 'cuda', source: 'span-ends', perRank: ends });
  }
  if (steps.marksClock !== null) cands.push({ clock: steps.marksClock, source: 'step-marks', perRank: steps.slots.map((w, i) => markRanks(w, inSlot[i] ?? [])) });
  const pick = cands.find((c) => c.clock === spanClock) ?? cands[0];
  if (!pick) return { clock: null, source: null, perRank: steps.slots.map(() => new Map()), slotMs: steps.slots.map(() => null) };
  return { clock: pick.clock, source: pick.source, perRank: pick.perRank, slotMs: pick.perRank.map((m) => meanOf([...m.values()])) };
}

/** A host-marked window is one duration for every rank that ran spans in it (or rank 0 where none did). */
function markRanks(w: StepSlot, spans: readonly Span[]): Map<number, number> {
  if (w.start === null || w.end === null) return new Map();
  const ranks = spans.length > 0 ? [...new Set(spans.map((s) => s.rank))] : [0];
  return new Map(ranks.map((r) => [r, (w.end as number) - (w.start as number)] as const));
}

/**
 * Per slot and rank: end of the rank's last CUDA span in this step minus that in the step
 * before, where the slot before is step n-1 (a step 0, or a step after a gap, has none).
 */
export function spanEnds(slots: readonly StepSlot[], inSlot: ReadonlyArray<readonly Span[]>): Array<Map<number, number>> {
  const last = inSlot.map((list) => {
    const m = new Map<number, number>();
    for (const s of list) if (s.timing === 'cuda') m.set(s.rank, Math.max(m.get(s.rank) ?? -Infinity, s.end));
    return m;
  });
  return slots.map((w, i) => {
    const out = new Map<number, number>();
    const prev = slots[i - 1];
    if (i === 0 || prev === undefined || prev.step !== w.step - 1) return out;
    for (const [rank, end] of last[i] as Map<number, number>) {
      const before = (last[i - 1] as Map<number, number>).get(rank);
      if (before !== undefined && end > before) out.set(rank, end - before);
    }
    return out;
  });
}

/**
 * Steps whose spans do not fit in them: on some rank, the union of its spans or one name's
 * total exceeds the step's duration (beyond FIT_TOLERANCE_MS). A share over 100 % would mean the
 * clocks or the step boundaries disagree, not that a span took more than the step.
 */
export function misfits(inSlot: ReadonlyArray<readonly Span[]>, perRank: ReadonlyArray<ReadonlyMap<number, number>>): number {
  let bad = 0;
  inSlot.forEach((list, i) => {
    const durs = perRank[i];
    if (!durs || list.length === 0) return;
    const byRank = new Map<number, Span[]>();
    for (const s of list) push(byRank, s.rank, s);
    const over = [...byRank].some(([rank, ss]) => {
      const d = durs.get(rank);
      if (d === undefined) return false;
      const names = new Map<string, number>();
      for (const s of ss) names.set(s.name, (names.get(s.name) ?? 0) + s.end - s.start);
      const widest = Math.max(length(union(ss.map((s) => [s.start, s.end] as const))), ...names.values());
      return widest > d + FIT_TOLERANCE_MS;
    });
    if (over) bad++;
  });
  return bad;
}
