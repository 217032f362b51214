import { buildBreakdown, type HostBreakdown } from './breakdown.js';
import { isSpanMark, type SpanMarkLike } from './span-pairs.js';
import { stageClock, type Clock, type SpanClock, type StepSource } from './step-clock.js';
import { meanOf, r3 } from './dist.js';
import { preferExplicit, type HostReport, type Report, type ReportRun } from './report.js';
import { buildStages } from './stages.js';

/** Per-run figures for tables and `compare`: one number each. */
export interface Headline {
  /** Mean duration of the `request` stage(s); without one, first top-level begin to last end. */
  request_total_ms: number | null;
  request_source: 'request' | 'stages' | null;
  /** host: the request's boundaries are the workload's own marks (the request is what the host sees); log: log lines'. */
  request_clock: 'host' | 'log' | null;
  step_stage: string | null;
  /** Mean step duration on `step_clock` (the breakdown's, the spans' clock where there is one), mean over hosts; null where hosts' clocks differ. */
  step_mean_ms: number | null;
  step_clock: Clock | 'mixed' | null;
  step_source: StepSource | 'mixed' | null;
  /** Clock of comm_total_ms, exposed_comm_ms and spans. */
  span_clock: SpanClock | null;
  /** Per step: union of communication spans (mean over ranks, steps, hosts). */
  comm_total_ms: number | null;
  exposed_comm_ms: number | null;
  /** Largest torch reserved memory any rank reported (torch_reserved_mib / torch_max_reserved_mib gauges). */
  reserved_peak_mib: number | null;
  /** Per span name: its per-step total, mean over steps (and hosts). */
  spans: Record<string, number>;
}

export type HostWithBreakdown = HostReport & { breakdown: HostBreakdown | null };
export type SpannedReport = Omit<Report, 'hosts'> & { headline: Headline; hosts: HostWithBreakdown[] };

/**
 * What the breakdown reads of a run: each host's marks and the time of its last sample, either
 * given (the store's streaming report) or read off samples held in memory (a ReportInput).
 */
export interface BreakdownInput {
  run: Pick<ReportRun, 'endedAt'>;
  hosts: ReadonlyArray<{ host: string; marks: ReadonlyArray<SpanMarkLike & { gauges?: Record<string, number>; source?: string }>; lastSampleT?: number | null; samples?: ReadonlyArray<{ t: number }> }>;
}

const RESERVED_GAUGES = ['torch_reserved_mib', 'torch_max_reserved_mib'];

/** Adds each host's per-step span breakdown and the run's headline figures to a report. */
export function addBreakdown(r: Report, input: BreakdownInput): SpannedReport {
  let reserved: number | null = null;
  const requests: number[] = [];
  let extentSource: 'request' | 'stages' | null = null;
  const extentClocks: Array<'host' | 'log' | null> = [];
  const hosts = r.hosts.map((h): HostWithBreakdown => {
    const ih = input.hosts.find((x) => x.host === h.host);
    if (!ih) return { ...h, breakdown: null };
    const marks = ih.marks;
    for (const m of marks) for (const k of RESERVED_GAUGES) {
      const v = m.gauges?.[k];
      if (v !== undefined && (reserved === null || v > reserved)) reserved = v;
    }
    const endOfData = marks.reduce((a, m) => Math.max(a, m.t), Math.max(ih.lastSampleT ?? ih.samples?.at(-1)?.t ?? 0, input.run.endedAt ?? 0));
    const stages = buildStages(preferExplicit(marks.filter((m) => !isSpanMark(m))), endOfData).stages.filter((s) => !s.unterminated);
    const req = stages.filter((s) => s.name === 'request');
    if (req.length > 0) {
      requests.push(meanOf(req.map((s) => s.end - s.start)) as number);
      extentSource = 'request';
      extentClocks.push(stageClock(marks, new Set(['request'])));
    } else if (extentSource !== 'request') {
      const top = stages.filter((s) => s.depth === 0);
      if (top.length > 0) {
        requests.push(Math.max(...top.map((s) => s.end)) - Math.min(...top.map((s) => s.start)));
        extentSource = 'stages';
        // Any boundary from a log line puts the extent on the log's clock (the coarser one).
        const clocks = top.map((s) => stageClock(marks, new Set([s.name])));
        extentClocks.push(clocks.includes('log') ? 'log' : clocks.includes('host') ? 'host' : null);
      }
    }
    return { ...h, breakdown: buildBreakdown(marks, stages) };
  });
  const bds = hosts.map((h) => h.breakdown).filter((b): b is HostBreakdown => b !== null);
  const avg = (xs: Array<number | null | undefined>): number | null => {
    const m = meanOf(xs.filter((x): x is number => x !== null && x !== undefined));
    return m === null ? null : r3(m);
  };
  const names = [...new Set(bds.flatMap((b) => b.spans.map((s) => s.name)))];
  const timed = bds.filter((b) => b.step_ms !== null);
  const stepClock = one(timed.map((b) => b.step_clock));
  const spanClock = one(bds.map((b) => b.span_clock));
  return {
    ...r,
    headline: {
      request_total_ms: requests.length > 0 ? r3(Math.max(...requests)) : null,
      request_source: requests.length > 0 ? extentSource : null,
      request_clock: requests.length > 0 ? (extentClocks.includes('log') ? 'log' : extentClocks.includes('host') ? 'host' : null) : null,
      step_stage: bds.find((b) => b.step_stage !== null)?.step_stage ?? null,
      // Hosts on different step clocks have no one mean: a cuda step beside a host-marked one is not the same figure.
      step_mean_ms: stepClock === 'mixed' ? null : avg(timed.map((b) => b.step_ms?.mean)),
      step_clock: stepClock,
      step_source: one(timed.map((b) => b.step_source)),
      span_clock: spanClock,
      comm_total_ms: avg(bds.map((b) => b.comm_ms?.mean)),
      exposed_comm_ms: avg(bds.map((b) => b.exposed_comm_ms?.mean)),
      reserved_peak_mib: reserved === null ? null : r3(reserved),
      spans: Object.fromEntries(names.map((n) => [n, avg(bds.map((b) => b.spans.find((s) => s.name === n)?.total_ms.mean)) as number])),
    },
    hosts,
  };
}

/** The one value all give (nulls aside), 'mixed' where they differ, null where none gives one. */
function one<T extends string>(xs: ReadonlyArray<T | null>): T | 'mixed' | null {
  const set = new Set(xs.filter((x): x is T => x !== null));
  return set.size === 0 ? null : set.size > 1 ? 'mixed' : ([...set][0] as T);
}
