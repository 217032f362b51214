import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from './thresholds.js';
import { buildBreakdown, type HostBreakdown, type SpanMarkLike } from './breakdown.js';
import { buildReport, type ReportInput } from './report.js';
import type { Span } from './span-pairs.js';
import { addBreakdown } from './spans-report.js';
import { buildStages } from './stages.js';
import { FIT_TOLERANCE_MS, misfits, spanEnds, stageClock } from './step-clock.js';

const T0 = 1_800_000_000_000;
const STEPS = 20;

type M = SpanMarkLike & { source?: string };

function span(name: string, category: string | undefined, rank: number, step: number | undefined, start: number, end: number, timing: 'cuda' | 'host' = 'cuda', t0 = T0): M[] {
  const base = { stage: name, rank, timing, source: 'http', ...(category !== undefined ? { category } : {}), ...(step !== undefined ? { step } : {}) };
  return [
    { ...base, kind: 'begin', t: t0 + start },
    { ...base, kind: 'end', t: t0 + end },
  ];
}

/** The workload's own step marks: step k from `k * ms` for `ms` (host clock, or a log's). */
function hostSteps(n: number, ms: number, source = 'http'): M[] {
  return Array.from({ length: n }, (_, k) => [
    { kind: 'begin' as const, stage: 'denoise_step', step: k, t: T0 + k * ms, source },
    { kind: 'end' as const, stage: 'denoise_step', step: k, t: T0 + (k + 1) * ms, source },
  ]).flat();
}

/**
 * What the H100 capture showed: the host marks each step in 8 ms while the GPU spends 50 ms on
 * it. GPU step k runs 50k..50k+50: attn (compute) 50k+2..50k+40, qkv_all_to_all 50k+40..50k+50.
 */
function gpuWork(withStep = true): M[] {
  const out: M[] = [];
  for (let k = 0; k < STEPS; k++) {
    const b = 50 * k;
    out.push(...span('attn', 'compute', 0, withStep ? k : undefined, b + 2, b + 40), ...span('qkv_all_to_all', 'communication', 0, withStep ? k : undefined, b + 40, b + 50));
  }
  return out;
}

/** Each step timed on the GPU too: what stage("denoise_step", step=k) sends with CUDA up. */
const gpuSteps = (category: string | undefined = 'step'): M[] => Array.from({ length: STEPS }, (_, k) => span('denoise_step', category, 0, k, 50 * k, 50 * k + 50)).flat();

const breakdown = (marks: readonly M[]): HostBreakdown => {
  const b = buildBreakdown(marks, buildStages(marks.filter((m) => m.timing === undefined), T0 + 10_000).stages);
  if (!b) throw new Error('no breakdown');
  return b;
};
const shares = (b: HostBreakdown): number[] => [...b.spans.map((s) => s.share_pct), ...b.categories.map((c) => c.share_pct)].filter((x): x is number => x !== null);

describe('host-marked steps, CUDA-timed spans (the host runs ahead of the GPU)', () => {
  const b = breakdown([...hostSteps(STEPS, 8), ...gpuWork()]);

  it('attributes spans by their step number, not by the host window they fall in', () => {
    // GPU step 5 runs 250..300 while the host marked step 5 at 40..48: still step 5's.
    expect(b.steps).toBe(STEPS);
    expect(b.per_step.map((r) => r.spans)).toEqual(Array.from({ length: STEPS }, () => ({ attn: 38, qkv_all_to_all: 10 })));
    expect(b.outside_steps).toEqual([]);
  });

  it('times steps on the spans’ clock (from span ends), keeps the host marks apart, and gives no share over 100 %', () => {
    expect([b.step_clock, b.step_source, b.span_clock]).toEqual(['cuda', 'span-ends', 'cuda']);
    expect(b.per_step[0]?.duration_ms).toBeNull();
    expect(b.per_step.slice(1).every((r) => r.duration_ms === 50 && r.host_duration_ms === 8)).toBe(true);
    expect(b.step_ms).toEqual({ mean: 50, p50: 50, p95: 50 });
    expect(b.step_durations_ms).toHaveLength(STEPS - 1);
    expect(b.host_step_ms).toEqual({ mean: 8, p50: 8, p95: 8 });
    expect(b.host_step_clock).toBe('host');
    expect(b.share_refused).toBeNull();
    expect(b.spans.map((s) => [s.name, s.share_pct])).toEqual([['attn', 76], ['qkv_all_to_all', 20]]);
    expect(Math.max(...shares(b))).toBeLessThanOrEqual(100);
  });

  it('gives the headline step mean on the CUDA clock, not the host marks’ 8 ms', () => {
    const r = report([...hostSteps(STEPS, 8), ...gpuWork()]);
    expect(r.headline).toMatchObject({ step_mean_ms: 50, step_clock: 'cuda', step_source: 'span-ends', span_clock: 'cuda', request_clock: 'host' });
  });

  it('spans without a step number fall back to time, and the report says they may sit a step late', () => {
    const nb = breakdown([...hostSteps(STEPS, 8), ...gpuWork(false)]);
    expect(nb.problems.some((p) => /spans without a step number were placed by time in host-marked steps/.test(p))).toBe(true);
    expect(nb.share_refused).toBe('7 spans were placed in steps by time on another clock than theirs: which step they belong to is a guess');
    expect(shares(nb)).toEqual([]);
  });
});

describe('GPU-timed steps (step spans)', () => {
  it('divide by the GPU step: exact shares, and the headline mean is theirs', () => {
    const marks = [...hostSteps(STEPS, 8), ...gpuSteps(), ...gpuWork()];
    const b = breakdown(marks);
    expect([b.step_clock, b.step_source]).toEqual(['cuda', 'step-spans']);
    expect(b.per_step.every((r) => r.duration_ms === 50 && r.host_duration_ms === 8)).toBe(true);
    expect(b.step_durations_ms).toEqual(Array.from({ length: STEPS }, () => 50));
    expect(b.spans.map((s) => [s.name, s.share_pct])).toEqual([['attn', 76], ['qkv_all_to_all', 20]]);
    expect(b.categories.map((c) => [c.category, c.share_pct])).toEqual([['communication', 20], ['compute', 76]]);
    expect(b.spans.some((s) => s.name === 'denoise_step')).toBe(false);
    expect(report(marks).headline).toMatchObject({ step_mean_ms: 50, step_clock: 'cuda', step_source: 'step-spans' });
  });

  it('a span named as the step stage is a step span without the category', () => {
    const b = breakdown([...hostSteps(STEPS, 8), ...gpuSteps(undefined), ...gpuWork()]);
    expect(b.step_source).toBe('step-spans');
    expect(b.spans.map((s) => s.name)).toEqual(['attn', 'qkv_all_to_all']);
  });

  it('without step marks, the step spans are the steps; spans without a number are placed by the step span they start in', () => {
    const b = breakdown([...gpuSteps(), ...gpuWork(false)]);
    expect(b.step_stage).toBe('denoise_step');
    expect(b.steps).toBe(STEPS);
    expect(b.per_step[3]?.spans).toEqual({ attn: 38, qkv_all_to_all: 10 });
    expect(b.problems).toEqual([]);
    expect(b.host_step_ms).toBeNull();
  });

  it('with spans off, the step spans still give the step mean on the CUDA clock', () => {
    const r = report([...hostSteps(STEPS, 8), ...gpuSteps()]);
    expect(r.headline).toMatchObject({ step_mean_ms: 50, step_clock: 'cuda', step_source: 'step-spans', span_clock: null });
  });

  it('where some steps were timed before CUDA came up, the CUDA-timed ones are the steps’ clock', () => {
    const steps = gpuSteps().map((m) => (m.step === 0 ? { ...m, timing: 'host' as const } : m));
    const b = breakdown([...hostSteps(STEPS, 8), ...steps, ...gpuWork()]);
    expect([b.step_clock, b.step_source, b.share_refused]).toEqual(['cuda', 'step-spans', null]);
    expect(b.per_step[0]?.duration_ms).toBeNull();
    expect(b.step_durations_ms).toHaveLength(STEPS - 1);
  });

  it('without step marks, a second request’s steps are new steps; a step timed twice on one rank is said', () => {
    const twice = [...gpuSteps(), ...Array.from({ length: STEPS }, (_, k) => span('denoise_step', 'step', 0, k, 5000 + 50 * k, 5000 + 50 * k + 50)).flat()];
    const b = breakdown([...twice, ...gpuWork(), ...[0, 1].flatMap((k) => span('attn', 'compute', 0, k, 5000 + 50 * k + 2, 5000 + 50 * k + 40))]);
    expect(b.per_step.map((r) => r.step)).toEqual([...Array.from({ length: STEPS }, (_, k) => k), 0, 1]);
    expect(b.per_step.at(-1)?.spans).toEqual({ attn: 38 });
    expect(b.problems).toEqual([]);
    const dup = breakdown([...hostSteps(2, 100), ...span('denoise_step', 'step', 0, 1, 100, 150), ...span('denoise_step', 'step', 0, 1, 150, 190)]);
    expect(dup.problems).toEqual(['1 step spans matched no step (or a step already timed on their rank): left out']);
  });

  it('host-timed step spans (CUDA came up late) give way to span ends when the spans are CUDA-timed', () => {
    const b = breakdown([...hostSteps(STEPS, 8), ...gpuSteps().map((m) => ({ ...m, timing: 'host' as const })), ...gpuWork()]);
    expect([b.step_clock, b.step_source, b.share_refused]).toEqual(['cuda', 'span-ends', null]);
  });
});

describe('shares refused where they would divide one clock by another', () => {
  it('host spans in log-marked steps', () => {
    const marks = [...hostSteps(4, 100, 'log'), ...[0, 1, 2, 3].flatMap((k) => span('attn', 'compute', 0, k, 100 * k + 10, 100 * k + 60, 'host'))];
    const b = breakdown(marks);
    expect([b.step_clock, b.step_source, b.span_clock]).toEqual(['log', 'step-marks', 'host']);
    expect(b.share_refused).toBe('step durations are on the log clock (step-marks) and the spans on the host clock: a share would divide one clock by another');
    expect(shares(b)).toEqual([]);
    expect(b.step_ms).toEqual({ mean: 100, p50: 100, p95: 100 });
  });

  it('host spans in host-marked steps are on one clock', () => {
    const b = breakdown([...hostSteps(4, 100), ...[0, 1, 2, 3].flatMap((k) => span('attn', 'compute', 0, k, 100 * k + 10, 100 * k + 60, 'host'))]);
    expect([b.step_clock, b.step_source, b.share_refused]).toEqual(['host', 'step-marks', null]);
    expect(b.spans[0]?.share_pct).toBe(50);
  });

  it('host spans without a step number placed by time in host-marked steps are on one clock', () => {
    const b = breakdown([...hostSteps(4, 100), ...[0, 1, 2, 3].flatMap((k) => span('attn', 'compute', 0, undefined, 100 * k + 10, 100 * k + 60, 'host'))]);
    expect([b.share_refused, b.spans[0]?.share_pct, b.problems]).toEqual([null, 50, []]);
  });

  it('host spans with step numbers and nothing else to time the steps', () => {
    const b = breakdown([0, 1].flatMap((k) => span('attn', 'compute', 0, k, 100 * k, 100 * k + 60, 'host')));
    expect([b.step_clock, b.step_ms, b.share_refused]).toEqual([null, null, 'no step durations (steps known only from span step numbers)']);
  });

  it('spans mixing CUDA and host timing', () => {
    const b = breakdown([...hostSteps(STEPS, 8), ...gpuSteps(), ...gpuWork(), ...span('host_thing', 'compute', 0, 1, 60, 61, 'host')]);
    expect(b.span_clock).toBe('mixed');
    expect(b.share_refused).toBe('spans mix CUDA and host timing: no one clock to divide by');
    expect(shares(b)).toEqual([]);
  });

  it('spans that do not fit in their step, beyond the rounding tolerance', () => {
    // Small times, so the doubles hold the tolerance exactly enough.
    const t0 = 1000;
    const mk = (over: number): M[] => [
      ...[0, 1].flatMap((k) => [{ kind: 'begin' as const, stage: 'denoise_step', step: k, t: t0 + 100 * k, source: 'http' }, { kind: 'end' as const, stage: 'denoise_step', step: k, t: t0 + 100 * k + 100, source: 'http' }]),
      ...[0, 1].flatMap((k) => span('denoise_step', 'step', 0, k, 100 * k, 100 * k + 50, 'cuda', t0)),
      ...[0, 1].flatMap((k) => span('attn', 'compute', 0, k, 100 * k, 100 * k + 50 + (k === 1 ? over : 0), 'cuda', t0)),
    ];
    const fits = buildBreakdown(mk(FIT_TOLERANCE_MS * 0.9), buildStages(mk(0).filter((m) => m.timing === undefined), t0 + 1000).stages);
    expect(fits?.share_refused).toBeNull();
    const over = buildBreakdown(mk(FIT_TOLERANCE_MS * 1.1), buildStages(mk(0).filter((m) => m.timing === undefined), t0 + 1000).stages);
    expect(over?.share_refused).toBe('in 1 of 2 steps the spans add up to more than the step (step-spans): the step boundaries do not hold the spans');
    expect(over?.spans[0]?.share_pct).toBeNull();
  });
});

describe('step clock pieces', () => {
  const s = (rank: number, start: number, end: number, timing: 'cuda' | 'host' = 'cuda', name = 'x'): Span => ({ name, category: 'c', rank, start, end, timing });

  it('span ends: per rank, from the previous step’s last end; none after a gap in step numbers', () => {
    const slots = [0, 1, 3].map((step) => ({ step, start: null, end: null }));
    const inSlot = [[s(0, 0, 5), s(1, 0, 6)], [s(0, 10, 30), s(0, 12, 25), s(1, 10, 31), s(1, 40, 41, 'host')], [s(0, 60, 70)]];
    expect(spanEnds(slots, inSlot).map((m) => [...m])).toEqual([[], [[0, 25], [1, 25]], []]);
    // A step whose last span ends no later than the step before's has no period to give.
    expect(spanEnds(slots.slice(0, 2), [[s(0, 0, 30)], [s(0, 10, 30)]]).map((m) => [...m])).toEqual([[], []]);
  });

  it('misfits: a rank whose union of spans, or one name’s total, exceeds its step', () => {
    const d = [new Map([[0, 10]])];
    expect(misfits([[s(0, 0, 6, 'cuda', 'a'), s(0, 4, 10, 'cuda', 'b')]], d)).toBe(0); // union 10 of 10
    expect(misfits([[s(0, 0, 6, 'cuda', 'a'), s(0, 5, 11, 'cuda', 'b')]], d)).toBe(1); // union 11
    expect(misfits([[s(0, 0, 6, 'cuda', 'a'), s(0, 0, 6, 'cuda', 'a')]], d)).toBe(1); // union 6, but a's total 12
    expect(misfits([[s(1, 0, 60)]], d)).toBe(0); // no duration for rank 1: nothing to say
  });

  it('a stage’s clock: host where the workload marked it, log where only log lines did', () => {
    const m = (stage: string, source: string): M => ({ kind: 'begin', stage, t: 1, source });
    expect(stageClock([m('a', 'log'), m('a', 'http')], new Set(['a']))).toBe('host');
    expect(stageClock([m('a', 'log')], new Set(['a']))).toBe('log');
    expect(stageClock([{ kind: 'begin', stage: 'a', t: 1 }], new Set(['a']))).toBe('host');
    expect(stageClock([m('b', 'log')], new Set(['a']))).toBeNull();
  });
});

function report(marks: readonly M[], hosts: ReadonlyArray<readonly M[]> = []): ReturnType<typeof addBreakdown> {
  const all = [marks, ...hosts];
  const input: ReportInput = {
    run: { id: 'r', kind: 'run', startedAt: T0 - 1000, endedAt: T0 + 10_000, exitCode: 0 },
    hosts: all.map((ms, i) => ({ host: `h${i}`, gpus: [], samples: [], marks: [{ kind: 'begin', stage: 'request', t: T0 - 1, source: ms[0]?.source === 'log' ? 'log' : 'http' }, ...ms, { kind: 'end', stage: 'request', t: T0 + 5000, source: ms[0]?.source === 'log' ? 'log' : 'http' }] as ReportInput['hosts'][number]['marks'] })),
  };
  return addBreakdown(buildReport(input, DEFAULT_THRESHOLDS), input);
}

describe('headline clocks', () => {
  it('hosts on different step clocks have no one step mean', () => {
    const r = report([...hostSteps(STEPS, 8), ...gpuSteps()], [hostSteps(STEPS, 8)]);
    expect(r.headline).toMatchObject({ step_mean_ms: null, step_clock: 'mixed', step_source: 'mixed' });
  });

  it('without a request stage, the extent of the top-level stages is on the log’s clock if any of them is', () => {
    const stage = (name: string, a: number, b: number, source: string): M[] => [
      { kind: 'begin', stage: name, t: T0 + a, source },
      { kind: 'end', stage: name, t: T0 + b, source },
    ];
    const input = (marks: M[]): ReportInput => ({ run: { id: 'r', kind: 'run', startedAt: T0 - 1000, endedAt: T0 + 10_000, exitCode: 0 }, hosts: [{ host: 'h', gpus: [], samples: [], marks: marks as ReportInput['hosts'][number]['marks'] }] });
    const clock = (marks: M[]): unknown => {
      const i = input(marks);
      return addBreakdown(buildReport(i, DEFAULT_THRESHOLDS), i).headline.request_clock;
    };
    expect(clock([...stage('init', 0, 10, 'http'), ...stage('denoise', 10, 20, 'log')])).toBe('log');
    expect(clock([...stage('init', 0, 10, 'http'), ...stage('denoise', 10, 20, 'http')])).toBe('host');
  });

  it('the request is on the clock of its marks: the log’s where only log lines mark it', () => {
    expect(report(hostSteps(4, 100, 'log')).headline).toMatchObject({ request_clock: 'log', step_clock: 'log', step_source: 'step-marks', span_clock: null, step_mean_ms: 100 });
  });
});
