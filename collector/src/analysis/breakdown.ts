import { dist, meanOf, r3, type Dist } from './dist.js';
import { length, overlapLength, union, type Interval } from './intervals.js';
import { COMM, COMPUTE, droppedCount, MAX_OVERLAP_NAMES, NO_CATEGORY, pairSpans, push, type Span, type SpanMarkLike, type StepSlot } from './span-pairs.js';
import type { StageInterval } from './stages.js';
import { findSteps, misfits, placeSpan, spanClockOf, stepTiming, type Clock, type SpanClock, type StepSource, type StepTiming } from './step-clock.js';

/**
 * Where each step's time goes, from spans: marks that carry `timing` (GPU-timed or host-timed
 * regions repeated inside steps). Spans never become stages; here they are summarised per step.
 * Pure: marks and stage intervals in, figures out.
 */

export { droppedCount, isSpanMark, pairSpans, slotOf, stepStage, type Span, type SpanMarkLike } from './span-pairs.js';
export { STEP_CATEGORY, type Clock, type SpanClock, type StepSource } from './step-clock.js';

export interface RankStep {
  names: Map<string, { count: number; total: number }>;
  categories: Map<string, number>;
  overlaps: Map<string, number>;
  comm: number;
  /** Communication not under compute; null when this host has no compute spans to tell. */
  exposed: number | null;
}

/** One rank's spans in one step: per-name sums, category unions, overlaps, exposed communication. */
export function rankStep(spans: readonly Span[], overlapNames: ReadonlySet<string>, knowsCompute: boolean): RankStep {
  const names = new Map<string, { count: number; total: number }>();
  const byCat = new Map<string, Interval[]>();
  const byName = new Map<string, Interval[]>();
  for (const s of spans) {
    const n = names.get(s.name) ?? { count: 0, total: 0 };
    n.count++;
    n.total += s.end - s.start;
    names.set(s.name, n);
    push(byCat, s.category, [s.start, s.end] as const);
    if (overlapNames.has(s.name)) push(byName, s.name, [s.start, s.end] as const);
  }
  const catU = new Map([...byCat].map(([k, v]) => [k, union(v)] as const));
  const nameU = new Map([...byName].map(([k, v]) => [k, union(v)] as const));
  const categories = new Map([...catU].map(([k, v]) => [k, length(v)] as const));
  const overlaps = new Map<string, number>();
  const pairs = (kind: string, m: Map<string, Interval[]>): void => {
    const keys = [...m.keys()].sort();
    keys.forEach((a, i) => {
      for (const b of keys.slice(i + 1)) {
        const o = overlapLength(m.get(a) as Interval[], m.get(b) as Interval[]);
        if (o > 0) overlaps.set(`${kind}\u0000${a}\u0000${b}`, o);
      }
    });
  };
  pairs('category', catU);
  pairs('span', nameU);
  const comm = catU.get(COMM) ?? [];
  const commMs = length(comm);
  const exposed = knowsCompute ? commMs - overlapLength(comm, catU.get(COMPUTE) ?? []) : null;
  return { names, categories, overlaps, comm: commMs, exposed };
}

export interface StepRow {
  step: number;
  start_ms: number | null;
  /** The step's duration on the breakdown's `step_clock` (mean over ranks); null where unknown. */
  duration_ms: number | null;
  /** The step stage's own begin/end (host or log clock, `host_step_clock`), where it marks steps. */
  host_duration_ms: number | null;
  ranks: number;
  /** Per span name: total ms in this step (mean over the ranks that ran it). */
  spans: Record<string, number>;
  counts: Record<string, number>;
  /** Per category: ms covered by the union of its spans (mean over ranks). */
  categories: Record<string, number>;
  overlaps: Array<{ kind: 'category' | 'span'; a: string; b: string; ms: number }>;
  comm_ms: number;
  exposed_comm_ms: number | null;
}

export interface SpanSummary {
  name: string;
  category: string;
  timing: 'cuda' | 'host' | 'mixed';
  count_per_step: number;
  total_ms: Dist;
  /** Mean over steps of this span's total as a share of the step's duration; null where `share_refused` says why. */
  share_pct: number | null;
  per_rank: Array<{ rank: number; total_ms_mean: number }>;
}

export interface HostBreakdown {
  step_stage: string | null;
  /** Steps of the step stage (or span step numbers) that hold spans. */
  steps: number;
  ranks: number[];
  /** Clock of step_ms, step_durations_ms and per_step duration_ms (see step-clock.ts). */
  step_clock: Clock | null;
  step_source: StepSource | null;
  /** Clock of the spans: cuda, host, or mixed. */
  span_clock: SpanClock | null;
  /** Step durations on `step_clock`: every step that has one, spans or not. */
  step_ms: Dist | null;
  /** The same, one value per step in time order (what `compare` judges noise from). */
  step_durations_ms: number[];
  /** The step stage's own begin/end durations (host or log clock), kept beside a step clock that is not theirs. */
  host_step_ms: Dist | null;
  host_step_clock: 'host' | 'log' | null;
  /** Why shares of the step are not given (null where they are). */
  share_refused: string | null;
  spans: SpanSummary[];
  categories: Array<{ category: string; union_ms: Dist; share_pct: number | null }>;
  overlaps: Array<{ kind: 'category' | 'span'; a: string; b: string; overlap_ms: Dist }>;
  comm_ms: Dist | null;
  exposed_comm_ms: Dist | null;
  per_step: StepRow[];
  outside_steps: Array<{ name: string; count: number; total_ms: number }>;
  /** Marks the workload's client dropped (sum over ranks of each one's last count). */
  dropped: number;
  problems: string[];
}

const meanOver = (xs: readonly number[]): number => r3(meanOf(xs) ?? 0);

/** The per-step breakdown of one host; null when it has neither spans nor steps. */
export function buildBreakdown(marks: readonly SpanMarkLike[], stages: readonly StageInterval[]): HostBreakdown | null {
  const paired = pairSpans(marks);
  const dropped = droppedCount(marks);
  const steps = findSteps(paired.spans, stages, marks);
  if (paired.spans.length === 0 && steps.name === null) return null;
  const spans = steps.work;
  const slots = steps.slots;
  const inSlot = slots.map(() => [] as Span[]);
  const outside = new Map<string, { count: number; total_ms: number }>();
  let byTime = 0;
  for (const s of spans) {
    const p = placeSpan(s, steps);
    if (p.slot >= 0) {
      (inSlot[p.slot] as Span[]).push(s);
      if (p.byTime) byTime++;
    } else {
      const o = outside.get(s.name) ?? { count: 0, total_ms: 0 };
      o.count++;
      o.total_ms += s.end - s.start;
      outside.set(s.name, o);
    }
  }
  const spanClock = spanClockOf(spans);
  const timing = stepTiming(steps, inSlot, spanClock);
  const totals = new Map<string, number>();
  for (const s of spans) totals.set(s.name, (totals.get(s.name) ?? 0) + s.end - s.start);
  const overlapNames = new Set([...totals].sort((a, b) => b[1] - a[1]).slice(0, MAX_OVERLAP_NAMES).map(([n]) => n));
  const knowsCompute = spans.some((s) => s.category === COMPUTE);
  const ranks = [...new Set(spans.map((s) => s.rank))].sort((a, b) => a - b);
  const perRank = new Map<string, number[]>(); // `${name}\0${rank}` -> per-slot totals (slots where that rank has spans)
  const rows: StepRow[] = [];
  const hostMs = (w: StepSlot): number | null => (steps.marksClock !== null && w.start !== null && w.end !== null ? r3(w.end - w.start) : null);
  slots.forEach((slot, i) => {
    const list = inSlot[i] as Span[];
    if (list.length === 0) return;
    const byRank = new Map<number, Span[]>();
    for (const s of list) push(byRank, s.rank, s);
    const figs = [...byRank].map(([rank, ss2]) => [rank, rankStep(ss2, overlapNames, knowsCompute)] as const);
    for (const [rank, f] of figs) for (const name of totals.keys()) push(perRank, `${name}\u0000${rank}`, f.names.get(name)?.total ?? 0);
    const collect = <T>(get: (f: RankStep) => Map<string, T>): Set<string> => new Set(figs.flatMap(([, f]) => [...get(f).keys()]));
    const avg = (keys: Set<string>, get: (f: RankStep, k: string) => number | undefined): Record<string, number> =>
      Object.fromEntries([...keys].sort().map((k) => [k, meanOver(figs.map(([, f]) => get(f, k)).filter((v): v is number => v !== undefined))]));
    const exposed = figs.map(([, f]) => f.exposed).filter((v): v is number => v !== null);
    const dur = timing.slotMs[i] ?? null;
    rows.push({
      step: slot.step,
      start_ms: slot.start,
      duration_ms: dur === null ? null : r3(dur),
      host_duration_ms: hostMs(slot),
      ranks: figs.length,
      spans: avg(collect((f) => f.names), (f, k) => f.names.get(k)?.total),
      counts: avg(collect((f) => f.names), (f, k) => f.names.get(k)?.count),
      categories: avg(collect((f) => f.categories), (f, k) => f.categories.get(k)),
      overlaps: [...collect((f) => f.overlaps)].sort().map((k) => {
        const [kind, a, b] = k.split('\u0000') as ['category' | 'span', string, string];
        return { kind, a, b, ms: meanOver(figs.map(([, f]) => f.overlaps.get(k)).filter((v): v is number => v !== undefined)) };
      }),
      comm_ms: meanOver(figs.map(([, f]) => f.comm)),
      exposed_comm_ms: knowsCompute ? meanOver(exposed) : null,
    });
  });
  const durations = timing.slotMs.filter((v): v is number => v !== null);
  const hostDurations = slots.map(hostMs).filter((v): v is number => v !== null);
  const refused = shareRefusal(timing, spanClock, rows.length, misfits(inSlot, timing.perRank), byTime);
  const problems = [...paired.problems, ...steps.problems];
  if (byTime > 0) problems.push(`${byTime} spans without a step number were placed by time in ${steps.windowClock}-marked steps; the GPU runs behind the host, so some may sit a step late: give spans a step (stage(..., step=i) or set_step)`);
  if (dropped > 0) problems.push(`the workload's marks client dropped ${dropped} marks (buffer full or undeliverable): spans are missing`);
  return {
    step_stage: steps.name,
    steps: rows.length,
    ranks,
    step_clock: timing.clock,
    step_source: timing.source,
    span_clock: spanClock,
    step_ms: dist(durations),
    step_durations_ms: durations.map(r3),
    host_step_ms: dist(hostDurations),
    host_step_clock: hostDurations.length > 0 ? steps.marksClock : null,
    share_refused: refused,
    ...summarise(rows, spans, ranks, perRank, refused === null),
    comm_ms: rows.some((r) => r.comm_ms > 0) ? dist(rows.map((r) => r.comm_ms)) : null,
    exposed_comm_ms: knowsCompute ? dist(rows.map((r) => r.exposed_comm_ms ?? 0)) : null,
    per_step: rows,
    outside_steps: [...outside].map(([name, o]) => ({ name, count: o.count, total_ms: r3(o.total_ms) })).sort((a, b) => b.total_ms - a.total_ms),
    dropped,
    problems,
  };
}

/** Why a share of the step would not mean anything here; null where shares are given. */
export function shareRefusal(t: StepTiming, spanClock: SpanClock | null, rows: number, misfit: number, byTime = 0): string | null {
  if (rows === 0 || spanClock === null) return null;
  if (spanClock === 'mixed') return 'spans mix CUDA and host timing: no one clock to divide by';
  if (byTime > 0) return `${byTime} spans were placed in steps by time on another clock than theirs: which step they belong to is a guess`;
  if (t.clock === null) return 'no step durations (steps known only from span step numbers)';
  if (t.clock !== spanClock) return `step durations are on the ${t.clock} clock (${t.source}) and the spans on the ${spanClock} clock: a share would divide one clock by another`;
  if (misfit > 0) return `in ${misfit} of ${rows} steps the spans add up to more than the step (${t.source}): the step boundaries do not hold the spans`;
  return null;
}

/** Over steps: absent names count as 0 ms in a step, so a per-step mean is per step. */
function summarise(rows: readonly StepRow[], spans: readonly Span[], ranks: readonly number[], perRank: ReadonlyMap<string, number[]>, shares: boolean): Pick<HostBreakdown, 'spans' | 'categories' | 'overlaps'> {
  const share = (get: (r: StepRow) => number): number | null => {
    if (!shares) return null;
    const xs = rows.filter((r) => r.duration_ms !== null && r.duration_ms > 0).map((r) => (get(r) / (r.duration_ms as number)) * 100);
    return xs.length === 0 ? null : r3(meanOf(xs) as number);
  };
  const names = [...new Set(spans.map((s) => s.name))];
  const summaries: SpanSummary[] = names.map((name) => {
    const own = spans.filter((s) => s.name === name);
    const timings = new Set(own.map((s) => s.timing));
    return {
      name,
      category: own[0]?.category ?? NO_CATEGORY,
      timing: timings.size > 1 ? 'mixed' : (own[0]?.timing ?? 'host'),
      count_per_step: meanOver(rows.map((r) => r.counts[name] ?? 0)),
      total_ms: dist(rows.map((r) => r.spans[name] ?? 0)) ?? { mean: 0, p50: 0, p95: 0 },
      share_pct: share((r) => r.spans[name] ?? 0),
      per_rank: ranks.filter((rank) => own.some((s) => s.rank === rank)).map((rank) => ({ rank, total_ms_mean: meanOver(perRank.get(`${name}\u0000${rank}`) ?? []) })),
    };
  });
  summaries.sort((a, b) => b.total_ms.mean - a.total_ms.mean || a.name.localeCompare(b.name));
  const cats = [...new Set(rows.flatMap((r) => Object.keys(r.categories)))].sort();
  const pairs = new Map<string, { kind: 'category' | 'span'; a: string; b: string }>();
  for (const r of rows) for (const o of r.overlaps) pairs.set(`${o.kind}\u0000${o.a}\u0000${o.b}`, { kind: o.kind, a: o.a, b: o.b });
  return {
    spans: rows.length > 0 ? summaries : [],
    categories: cats.map((category) => ({ category, union_ms: dist(rows.map((r) => r.categories[category] ?? 0)) as Dist, share_pct: share((r) => r.categories[category] ?? 0) })),
    overlaps: [...pairs.values()].map((p) => ({ ...p, overlap_ms: dist(rows.map((r) => r.overlaps.find((o) => o.kind === p.kind && o.a === p.a && o.b === p.b)?.ms ?? 0)) as Dist })),
  };
}
