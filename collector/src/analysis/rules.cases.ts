/**
 * Boundary cases for every rule and threshold, with literal values (so a changed default fails
 * them): just below, at and above each threshold, and each pair of neighbouring rules that could
 * both hold. Shared by rules.test.ts and the mutation check in rules.mutation.test.ts.
 */
import type { CellFacts } from './rules.js';
import type { Label, Shares } from './thresholds.js';

const none: CellFacts = { sm: null, util: null, linkLoad: null, linkRate: null, thread: null, cores: null, coreMax: null, disk: null };
/** A GPU half busy with nothing else going on: no rule holds, so it splits by utilization. */
const half: CellFacts = { ...none, sm: 50, util: 50 };
const SPLIT = { compute: 0.5, idle: 0.5 };

export interface CellCase {
  name: string;
  facts: CellFacts;
  want: Partial<Shares>;
}

export const CELL_CASES: readonly CellCase[] = [
  // compute by SM activity (computeSmActivePct 70)
  { name: 'sm just below 70', facts: { ...half, sm: 69.99 }, want: SPLIT },
  { name: 'sm at 70', facts: { ...half, sm: 70 }, want: { compute: 1 } },
  { name: 'sm above 70', facts: { ...half, sm: 95 }, want: { compute: 1 } },
  // compute by utilization without SM activity (computeUtilPct 85)
  { name: 'no sm, util just below 85', facts: { ...none, util: 84.99 }, want: { compute: 0.8499, idle: 0.1501 } },
  { name: 'no sm, util at 85', facts: { ...none, util: 85 }, want: { compute: 1 } },
  { name: 'sm present and low, util 90: utilization does not make compute', facts: { ...none, sm: 50, util: 90 }, want: { compute: 0.9, idle: 0.1 } },
  // communication against capacity (linkLoadPct 30)
  { name: 'link load just below 30 %', facts: { ...half, linkLoad: 29.99 }, want: SPLIT },
  { name: 'link load at 30 %', facts: { ...half, linkLoad: 30 }, want: { communication: 1 } },
  { name: 'link load high but SMs busy', facts: { ...half, sm: 70, linkLoad: 90 }, want: { compute: 1 } },
  { name: 'no sm, util 90 and link load 50: compute first', facts: { ...none, util: 90, linkLoad: 50 }, want: { compute: 1 } },
  // communication without capacity (linkMibps 51200)
  { name: 'link rate just below 51200 MiB/s', facts: { ...half, linkRate: 51199 }, want: SPLIT },
  { name: 'link rate at 51200 MiB/s', facts: { ...half, linkRate: 51200 }, want: { communication: 1 } },
  { name: 'link rate high with a saturated thread: communication first', facts: { ...half, linkRate: 60000, thread: 99 }, want: { communication: 1 } },
  // host-bound by the driving process's busiest thread (hostThreadPct 90)
  { name: "thread just below 90 %: the thread's time beyond the kernels' is host-bound, not the whole interval", facts: { ...half, thread: 89.99 }, want: { compute: 0.5, 'host-bound': 0.3999, idle: 0.1001 } },
  { name: 'thread at 90 %', facts: { ...half, thread: 90 }, want: { 'host-bound': 1 } },
  { name: 'thread known and idle: workload cores are not asked', facts: { ...half, thread: 50, cores: 1 }, want: SPLIT },
  { name: 'thread known and idle: host cores are not asked', facts: { ...half, thread: 50, coreMax: 99 }, want: SPLIT },
  // host-bound by workload cores without thread figures (hostCores 0.8)
  { name: 'cores just below 0.8', facts: { ...half, cores: 0.7999 }, want: SPLIT },
  { name: 'cores at 0.8', facts: { ...half, cores: 0.8 }, want: { 'host-bound': 1 } },
  { name: 'cores known and low: host cores are not asked', facts: { ...half, cores: 0.1, coreMax: 99 }, want: SPLIT },
  // host-bound by the busiest host core without workload samples (hostCoreBusyPct 90)
  { name: 'busiest core just below 90 %', facts: { ...half, coreMax: 89.99 }, want: SPLIT },
  { name: 'busiest core at 90 %', facts: { ...half, coreMax: 90 }, want: { 'host-bound': 1 } },
  { name: 'launch-bound: SM low, util high, thread saturated', facts: { ...none, sm: 20, util: 90, thread: 99 }, want: { 'host-bound': 1 } },
  { name: 'busiest core saturated, SM low, util high: host-bound before waiting', facts: { ...none, sm: 20, util: 90, coreMax: 95 }, want: { 'host-bound': 1 } },
  // waiting (waitingUtilPct 70, waitingSmActivePct 40)
  { name: 'util at 70, sm just below 40', facts: { ...none, sm: 39.99, util: 70 }, want: { waiting: 1 } },
  { name: 'util at 70, sm at 40', facts: { ...none, sm: 40, util: 70 }, want: { compute: 0.7, idle: 0.3 } },
  { name: 'util just below 70, sm 20', facts: { ...none, sm: 20, util: 69.99 }, want: { compute: 0.6999, idle: 0.3001 } },
  { name: 'spin kernel: util 100, sm 1', facts: { ...none, sm: 1, util: 100 }, want: { waiting: 1 } },
  { name: 'waiting and disks busy: waiting first', facts: { ...none, sm: 5, util: 90, disk: 100 }, want: { waiting: 1 } },
  // io (ioMibps 50)
  { name: 'disk just below 50 MiB/s', facts: { ...half, disk: 49.99 }, want: SPLIT },
  { name: 'disk at 50 MiB/s', facts: { ...half, disk: 50 }, want: { io: 1 } },
  { name: 'GPU idle and disks busy: io before idle', facts: { ...none, sm: 5, util: 5, disk: 100 }, want: { io: 1 } },
  // idle (idleActivityPct 10)
  { name: 'sm just below 10', facts: { ...half, sm: 9.99 }, want: { idle: 1 } },
  { name: 'sm at 10', facts: { ...half, sm: 10 }, want: SPLIT },
  { name: 'no sm, util just below 10', facts: { ...none, util: 9.99 }, want: { idle: 1 } },
  { name: 'no sm, util at 10', facts: { ...none, util: 10 }, want: { compute: 0.1, idle: 0.9 } },
  { name: 'no sm, util just below 10 needs sm absent: sm 30, util 5 splits', facts: { ...none, sm: 30, util: 5 }, want: { compute: 0.05, idle: 0.95 } },
  { name: 'host lane (no GPU figures), nothing busy', facts: none, want: { idle: 1 } },
  // a quiet interval's busy host thread (QUIET_HOST_RULE: thread >= idleActivityPct 10)
  { name: 'GPU quiet, thread just below 10 %', facts: { ...none, sm: 5, util: 5, thread: 9.99 }, want: { idle: 1 } },
  { name: 'GPU quiet, thread at 10 %', facts: { ...none, sm: 5, util: 5, thread: 10 }, want: { 'host-bound': 0.1, idle: 0.9 } },
  { name: 'GPU quiet, a CPU burst 89.5 % of the interval', facts: { ...none, sm: 0.2, util: 5, thread: 89.5 }, want: { 'host-bound': 0.895, idle: 0.105 } },
  { name: 'host lane, thread 50 %', facts: { ...none, thread: 50 }, want: { 'host-bound': 0.5, idle: 0.5 } },
  { name: 'GPU half busy, thread 50 %: the split is by utilization, the thread may overlap the kernels', facts: { ...half, thread: 50 }, want: SPLIT },
  // a partly busy interval: the thread's time beyond the kernels' is host-bound (hostShareBeside)
  { name: 'GPU 20 % busy, thread 60 %: at least 40 % ran the thread and no kernel', facts: { ...none, sm: 20, util: 20, thread: 60 }, want: { compute: 0.2, 'host-bound': 0.4, idle: 0.4 } },
  { name: 'GPU 20 % busy, thread just below 10 %', facts: { ...none, sm: 20, util: 20, thread: 9.99 }, want: { compute: 0.2, idle: 0.8 } },
  { name: 'GPU 50.01 % busy, thread 50 %: none beyond the kernels', facts: { ...none, sm: 50.01, util: 50.01, thread: 50 }, want: { compute: 0.5001, idle: 0.4999 } },
  { name: 'GPU 12 % busy, thread 89.99 % (below hostThreadPct)', facts: { ...none, sm: 12, util: 12, thread: 89.99 }, want: { compute: 0.12, 'host-bound': 0.7799, idle: 0.1001 } },
  { name: 'GPU quiet and disks busy, thread 50 %: io', facts: { ...none, sm: 5, util: 5, disk: 100, thread: 50 }, want: { io: 1 } },
  { name: 'no sm, util 50: not the host lane', facts: { ...none, util: 50 }, want: SPLIT },
  { name: 'no util, sm 30: split by SM activity', facts: { ...none, sm: 30 }, want: { compute: 0.3, idle: 0.7 } },
];

export interface ShareCase {
  name: string;
  shares: Shares;
  want: Label;
}

const zero: Shares = { compute: 0, communication: 0, waiting: 0, 'host-bound': 0, io: 0, idle: 0 };
/** majorityShare 0.5: the dominant state must hold more than half. */
export const LABEL_CASES: readonly ShareCase[] = [
  { name: 'exactly half', shares: { ...zero, compute: 0.5, idle: 0.5 }, want: 'mixed' },
  { name: 'just over half', shares: { ...zero, 'host-bound': 0.5001, compute: 0.4999 }, want: 'host-bound' },
  { name: 'all of it', shares: { ...zero, waiting: 1 }, want: 'waiting' },
  { name: 'nothing covered', shares: zero, want: 'mixed' },
  { name: 'three-way', shares: { ...zero, compute: 0.4, communication: 0.35, idle: 0.25 }, want: 'mixed' },
];

/** offloadH2dMibps 1024 per interval; offloadShare 0.2 of a stage. */
export const OFFLOAD_CELL_CASES: ReadonlyArray<{ h2d: number | null; want: boolean }> = [
  { h2d: 1023.99, want: false },
  { h2d: 1024, want: true },
  { h2d: null, want: false },
];
export const OFFLOAD_STAGE_CASES: ReadonlyArray<{ share: number; want: boolean }> = [
  { share: 0.1999, want: false },
  { share: 0.2, want: true },
];
