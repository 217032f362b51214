import { buildBreakdown, type HostBreakdown } from './breakdown.js';
import { isSpanMark, type SpanMarkLike } from './span-pairs.js';
import { meanOf, r3 } from './dist.js';
import { preferExplicit, type HostReport, type Report, type ReportInput } from './report.js';
import { buildStages } from './stages.js';

/** Per-run figures for tables and `compare`: one number each. */
export interface Headline {
  /** Mean duration of the `request` stage(s); without one, first top-level begin to last end. */
  request_total_ms: number | null;
  request_source: 'request' | 'stages' | null;
  step_stage: string | null;
  /** Mean step duration (host-marked step stage), mean over hosts. */
  step_mean_ms: number | null;
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

const RESERVED_GAUGES = ['torch_reserved_mib', 'torch_max_reserved_mib'];

/** Adds each host's per-step span breakdown and the run's headline figures to a report. */
export function addBreakdown(r: Report, input: ReportInput): SpannedReport {
  let reserved: number | null = null;
  const requests: number[] = [];
  let extentSource: 'request' | 'stages' | null = null;
  const hosts = r.hosts.map((h): HostWithBreakdown => {
    const ih = input.hosts.find((x) => x.host === h.host);
    if (!ih) return { ...h, breakdown: null };
    const marks = ih.marks as ReadonlyArray<SpanMarkLike & { gauges?: Record<string, number>; source?: string }>;
    for (const m of marks) for (const k of RESERVED_GAUGES) {
      const v = m.gauges?.[k];
      if (v !== undefined && (reserved === null || v > reserved)) reserved = v;
    }
    const endOfData = marks.reduce((a, m) => Math.max(a, m.t), Math.max(ih.samples.at(-1)?.t ?? 0, input.run.endedAt ?? 0));
    const stages = buildStages(preferExplicit(marks.filter((m) => !isSpanMark(m))), endOfData).stages.filter((s) => !s.unterminated);
    const req = stages.filter((s) => s.name === 'request');
    if (req.length > 0) {
      requests.push(meanOf(req.map((s) => s.end - s.start)) as number);
      extentSource = 'request';
    } else if (extentSource !== 'request') {
      const top = stages.filter((s) => s.depth === 0);
      if (top.length > 0) {
        requests.push(Math.max(...top.map((s) => s.end)) - Math.min(...top.map((s) => s.start)));
        extentSource = 'stages';
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
  return {
    ...r,
    headline: {
      request_total_ms: requests.length > 0 ? r3(Math.max(...requests)) : null,
      request_source: requests.length > 0 ? extentSource : null,
      step_stage: bds.find((b) => b.step_stage !== null)?.step_stage ?? null,
      step_mean_ms: avg(bds.map((b) => b.step_ms?.mean)),
      comm_total_ms: avg(bds.map((b) => b.comm_ms?.mean)),
      exposed_comm_ms: avg(bds.map((b) => b.exposed_comm_ms?.mean)),
      reserved_peak_mib: reserved === null ? null : r3(reserved),
      spans: Object.fromEntries(names.map((n) => [n, avg(bds.map((b) => b.spans.find((s) => s.name === n)?.total_ms.mean)) as number])),
    },
    hosts,
  };
}
