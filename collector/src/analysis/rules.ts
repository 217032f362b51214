/**
 * The rules behind states and labels, as data: each rule is a list of conditions on named facts
 * against named thresholds. Keeping them as tables lets the test suite mutate every comparison
 * and threshold one at a time and check that some test fails (rules.mutation.test.ts).
 */
import { STATES, type Label, type Shares, type State, type Thresholds } from './thresholds.js';

export type Op = '>=' | '>' | '<' | '<=' | 'absent' | 'present';
type NumericKeys<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];
export type ThresholdKey = NumericKeys<Thresholds>;

export interface Condition<F extends string = string> {
  fact: F;
  op: Op;
  /** The threshold a numeric comparison is against (unused by absent/present). */
  th?: ThresholdKey;
}

/** One interval of one GPU (or of the host, where it has no GPUs), as the rules see it. */
export interface CellFacts {
  /** SM activity % (GPM/DCGM). */
  sm: number | null;
  /** utilization.gpu %. */
  util: number | null;
  /** Busier direction of NVLink or PCIe as % of that link's capacity (the larger of the two). */
  linkLoad: number | null;
  /** Busier direction (MiB/s) of a link whose capacity is unknown. */
  linkRate: number | null;
  /** Busiest thread (% of a core) of the process driving this GPU. */
  thread: number | null;
  /** Workload CPU in cores, only where no per-thread figure exists in the run. */
  cores: number | null;
  /** Busiest host core %, only where the run has no workload samples. */
  coreMax: number | null;
  /** Disk read + write, MiB/s. */
  disk: number | null;
}
export type Fact = keyof CellFacts;

export interface Rule {
  state: State;
  when: ReadonlyArray<Condition<Fact>>;
}

const ge = (fact: Fact, th: ThresholdKey): Condition<Fact> => ({ fact, op: '>=', th });
const lt = (fact: Fact, th: ThresholdKey): Condition<Fact> => ({ fact, op: '<', th });
const absent = (fact: Fact): Condition<Fact> => ({ fact, op: 'absent' });

/**
 * First match wins. Compute first (SMs busy is the answer whatever else happens); links busy
 * against their capacity while SMs are not; then a saturated host thread (launch-bound or CPU
 * work) before waiting, because a GPU starved by its launcher also shows utilization without SM
 * activity; then disks; then idle. Fallbacks for older data sit right after the rule they stand in for.
 */
export const CELL_RULES: readonly Rule[] = [
  { state: 'compute', when: [ge('sm', 'computeSmActivePct')] },
  { state: 'compute', when: [absent('sm'), ge('util', 'computeUtilPct')] },
  { state: 'communication', when: [ge('linkLoad', 'linkLoadPct')] },
  { state: 'communication', when: [ge('linkRate', 'linkMibps')] },
  { state: 'host-bound', when: [ge('thread', 'hostThreadPct')] },
  { state: 'host-bound', when: [absent('thread'), ge('cores', 'hostCores')] },
  { state: 'host-bound', when: [absent('thread'), absent('cores'), ge('coreMax', 'hostCoreBusyPct')] },
  { state: 'waiting', when: [ge('util', 'waitingUtilPct'), lt('sm', 'waitingSmActivePct')] },
  { state: 'io', when: [ge('disk', 'ioMibps')] },
  { state: 'idle', when: [lt('sm', 'idleActivityPct')] },
  { state: 'idle', when: [absent('sm'), lt('util', 'idleActivityPct')] },
];

/** Label rule: the dominant state labels a stage when its share is above majorityShare. */
export const LABEL_RULE: Condition<'share'> = { fact: 'share', op: '>', th: 'majorityShare' };
/**
 * An interval no rule claims whole (found idle, or the GPU partly busy) whose driving process had
 * a thread busy part of it: host-bound for the thread's time beyond the kernels' (hostShareBeside),
 * idle for the rest. Without it a CPU burst's first interval, where the reading is 85-90 % (the
 * burst began a little into it), came out all idle (H100 phases capture, mixed_three).
 */
export const QUIET_HOST_RULE: Condition<'thread'> = { fact: 'thread', op: '>=', th: 'idleActivityPct' };
/**
 * The host-bound share of an interval no rule claims whole (found idle, or GPU partly busy):
 * where the driving thread ran for more of the interval than kernels did (busy, 0..1), at least
 * the difference passed with the thread running and no kernel running, whatever the order inside
 * the interval, so that much is host-bound; with the GPU quiet (busy 0) it is the thread's whole
 * share. Where the thread ran for less, it may have run entirely while the kernels did, so none
 * is claimed. Before this took `busy` off, a partly busy interval claimed none at all: a CPU burst
 * ending where matmuls began counted as idle (mixed_three on the H100 re-run, idle 0.106).
 */
export const hostShareBeside = (busy: number, thread: number | null, th: Thresholds, rule: Condition<'thread'> = QUIET_HOST_RULE): number =>
  holds(rule, { thread }, th) ? Math.max(0, Math.min(1, (thread as number) / 100) - busy) : 0;
/** Offload: an interval counts when host-to-device PCIe is at or above offloadH2dMibps... */
export const OFFLOAD_CELL_RULE: Condition<'h2d'> = { fact: 'h2d', op: '>=', th: 'offloadH2dMibps' };
/** ...and a stage names it when such intervals hold at least offloadShare of its covered time. */
export const OFFLOAD_STAGE_RULE: Condition<'share'> = { fact: 'share', op: '>=', th: 'offloadShare' };

/** Whether a condition holds; a comparison with a missing fact never holds. */
export function holds<F extends string>(c: Condition<F>, facts: Readonly<Record<F, number | null>>, th: Thresholds): boolean {
  const v = facts[c.fact];
  if (c.op === 'absent') return v === null;
  if (c.op === 'present') return v !== null;
  if (v === null) return false;
  const limit = th[c.th as ThresholdKey];
  switch (c.op) {
    case '>=':
      return v >= limit;
    case '>':
      return v > limit;
    case '<':
      return v < limit;
    case '<=':
      return v <= limit;
  }
}

const ONE = Object.fromEntries(STATES.map((s) => [s, Object.freeze({ [s]: 1 })])) as Record<State, Readonly<Partial<Shares>>>;

type Compiled = ReadonlyArray<{ state: State; test: (f: CellFacts) => boolean }>;

/**
 * The table as closures with the thresholds bound: cells are classified by the hundred thousand,
 * so the table is read once per (rules, thresholds) rather than once per cell. Same meaning as holds().
 */
function compile(rules: readonly Rule[], th: Thresholds): Compiled {
  const cond = (k: Condition<Fact>): ((f: CellFacts) => boolean) => {
    const get = FACT[k.fact];
    const limit = k.th === undefined ? NaN : th[k.th];
    switch (k.op) {
      case 'absent':
        return (f) => get(f) === null;
      case 'present':
        return (f) => get(f) !== null;
      case '>=':
        return (f) => {
          const v = get(f);
          return v !== null && v >= limit;
        };
      case '>':
        return (f) => {
          const v = get(f);
          return v !== null && v > limit;
        };
      case '<':
        return (f) => {
          const v = get(f);
          return v !== null && v < limit;
        };
      case '<=':
        return (f) => {
          const v = get(f);
          return v !== null && v <= limit;
        };
    }
  };
  return rules.map((r) => {
    const tests = r.when.map(cond);
    const test = (f: CellFacts): boolean => {
      for (const t of tests) if (!t(f)) return false;
      return true;
    };
    return { state: r.state, test };
  });
}

/** Named property reads, one function per fact (monomorphic where a keyed read would not be). */
const FACT: Record<Fact, (f: CellFacts) => number | null> = {
  sm: (f) => f.sm,
  util: (f) => f.util,
  linkLoad: (f) => f.linkLoad,
  linkRate: (f) => f.linkRate,
  thread: (f) => f.thread,
  cores: (f) => f.cores,
  coreMax: (f) => f.coreMax,
  disk: (f) => f.disk,
};

/**
 * A classifier for many intervals: the index in STATES of the first rule that holds, or -1 where
 * none does. Then the GPU ran kernels part of the interval and nothing else was saturated;
 * utilization is the share of time a kernel ran, so busyShare() of it is compute, a busy host
 * thread's time beyond it host-bound (hostShareBeside) and the rest idle (no compute without any
 * GPU figure: the host lane of a stage without GPU data).
 */
export function cellClassifier(th: Thresholds, rules: readonly Rule[] = CELL_RULES): (f: CellFacts) => number {
  const compiled = compile(rules, th).map((r) => ({ test: r.test, index: STATES.indexOf(r.state) }));
  return (f) => {
    for (const r of compiled) if (r.test(f)) return r.index;
    return -1;
  };
}

/** The compute share of an interval no rule claims. */
export const busyShare = (f: CellFacts): number => Math.min(1, Math.max(0, (f.util ?? f.sm ?? 0) / 100));

/** The state of one interval as fractions (one state at 1 mostly). */
export function classifyCell(f: CellFacts, th: Thresholds, rules: readonly Rule[] = CELL_RULES, quiet: Condition<'thread'> = QUIET_HOST_RULE): Readonly<Partial<Shares>> {
  const i = cellClassifier(th, rules)(f);
  if (i >= 0 && STATES[i] !== 'idle') return ONE[STATES[i] as State];
  const busy = i >= 0 ? 0 : busyShare(f);
  const host = hostShareBeside(busy, f.thread, th, quiet);
  const out: Partial<Shares> = {};
  if (busy > 0) out.compute = busy;
  if (host > 0) out['host-bound'] = host;
  if (busy + host < 1) out.idle = 1 - busy - host;
  return out;
}

/** The label for shares of covered time: the dominant state if it holds most of it, else mixed. */
export function labelOf(shares: Readonly<Shares>, th: Thresholds, rule: Condition<'share'> = LABEL_RULE): Label {
  let best: State = STATES[0];
  for (const s of STATES) if (shares[s] > shares[best]) best = s;
  return holds(rule, { share: shares[best] }, th) ? best : 'mixed';
}

/** PCIe per-interval offload test (host-to-device rate). */
export const offloadCell = (h2dMibps: number | null, th: Thresholds, rule: Condition<'h2d'> = OFFLOAD_CELL_RULE): boolean => holds(rule, { h2d: h2dMibps }, th);
/** Whether a stage's share of offload intervals is worth naming. */
export const offloadStage = (share: number, th: Thresholds, rule: Condition<'share'> = OFFLOAD_STAGE_RULE): boolean => holds(rule, { share }, th);
