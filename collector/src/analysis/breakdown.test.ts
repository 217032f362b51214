import { describe, expect, it } from 'vitest';
import { buildBreakdown, droppedCount, pairSpans, slotOf, type SpanMarkLike } from './breakdown.js';
import { DEFAULT_THRESHOLDS } from './thresholds.js';
import { length, overlapLength, union } from './intervals.js';
import { buildReport, type ReportInput } from './report.js';
import { addBreakdown } from './spans-report.js';
import { buildStages } from './stages.js';

const T0 = 1_800_000_000_000;

function span(name: string, category: string, rank: number, step: number | undefined, start: number, end: number): SpanMarkLike[] {
  const base = { stage: name, category, rank, timing: 'cuda' as const, ...(step !== undefined ? { step } : {}) };
  return [
    { ...base, kind: 'begin', t: T0 + start },
    { ...base, kind: 'end', t: T0 + end },
  ];
}

function stepMarks(n: number, ms: number): SpanMarkLike[] {
  return Array.from({ length: n }, (_, k) => [
    { kind: 'begin' as const, stage: 'denoise_step', step: k, t: T0 + k * ms },
    { kind: 'end' as const, stage: 'denoise_step', step: k, t: T0 + (k + 1) * ms },
  ]).flat();
}

/**
 * Two ranks, three 100 ms steps, each rank's step also timed on the GPU (a `step` span, as
 * stage(..., step=i) sends). Rank 0 per step: qkv_all_to_all 10-20 and 50-60, all_gather
 * 15-40, attn (compute) 30-70; in step 2 one more qkv 80-90. Rank 1: qkv 10-30 and 50-70, attn
 * 30-70. Worked by hand below.
 */
function madeRun(): SpanMarkLike[] {
  const marks: SpanMarkLike[] = [...stepMarks(3, 100)];
  for (let k = 0; k < 3; k++) {
    const b = k * 100;
    for (const rank of [0, 1]) marks.push(...span('denoise_step', 'step', rank, k, b, b + 100));
    marks.push(...span('qkv_all_to_all', 'communication', 0, k, b + 10, b + 20), ...span('qkv_all_to_all', 'communication', 0, k, b + 50, b + 60));
    marks.push(...span('all_gather', 'communication', 0, k, b + 15, b + 40), ...span('attn', 'compute', 0, k, b + 30, b + 70));
    if (k === 2) marks.push(...span('qkv_all_to_all', 'communication', 0, k, b + 80, b + 90));
    marks.push(...span('qkv_all_to_all', 'communication', 1, k, b + 10, b + 30), ...span('qkv_all_to_all', 'communication', 1, k, b + 50, b + 70));
    marks.push(...span('attn', 'compute', 1, k, b + 30, b + 70));
  }
  return marks;
}

describe('interval arithmetic', () => {
  it('unions, lengths and intersections', () => {
    const u = union([[20, 25], [0, 10], [5, 15], [30, 30]]);
    expect(u).toEqual([[0, 15], [20, 25]]);
    expect(length(u)).toBe(20);
    expect(union([[0, 5], [5, 10]])).toEqual([[0, 10]]);
    expect(overlapLength(u, union([[10, 22]]))).toBe(7);
    expect(overlapLength(u, [])).toBe(0);
  });
});

describe('per-step breakdown', () => {
  const stages = buildStages(madeRun().filter((m) => m.timing === undefined), T0 + 1000).stages;
  const b = buildBreakdown(madeRun(), stages);
  if (!b) throw new Error('no breakdown');
  const name = (n: string) => b.spans.find((s) => s.name === n);

  it('summarises repeated spans per step: count, total (mean, p50, p95) and share', () => {
    expect(b.step_stage).toBe('denoise_step');
    expect(b.steps).toBe(3);
    expect(b.ranks).toEqual([0, 1]);
    expect([b.step_clock, b.step_source, b.span_clock, b.share_refused]).toEqual(['cuda', 'step-spans', 'cuda', null]);
    expect(b.step_ms).toEqual({ mean: 100, p50: 100, p95: 100 });
    // qkv per step, mean over ranks: steps 0 and 1 (20 + 40) / 2 = 30, step 2 (30 + 40) / 2 = 35.
    expect(name('qkv_all_to_all')?.total_ms).toEqual({ mean: 31.667, p50: 30, p95: 35 });
    expect(name('qkv_all_to_all')?.count_per_step).toBe(2.167);
    expect(name('qkv_all_to_all')?.share_pct).toBe(31.667);
    expect(name('qkv_all_to_all')?.per_rank).toEqual([{ rank: 0, total_ms_mean: 23.333 }, { rank: 1, total_ms_mean: 40 }]);
    // all_gather runs on rank 0 only: its per-step figure is rank 0's.
    expect(name('all_gather')?.total_ms.mean).toBe(25);
    expect(name('all_gather')?.per_rank).toEqual([{ rank: 0, total_ms_mean: 25 }]);
    expect(name('attn')?.timing).toBe('cuda');
    expect(b.spans.map((s) => s.name)).toEqual(['attn', 'qkv_all_to_all', 'all_gather']);
  });

  it('counts a category once where its spans overlap (union, not sum)', () => {
    // Rank 0 step 0: qkv 10-20, 50-60 and all_gather 15-40 overlap: union 10-40 + 50-60 = 40 ms, not 45.
    expect(b.per_step[0]?.categories).toEqual({ communication: 40, compute: 40 });
    expect(b.per_step[2]?.categories.communication).toBe(45);
    expect(b.categories.find((c) => c.category === 'communication')?.union_ms).toEqual({ mean: 41.667, p50: 40, p95: 45 });
    expect(b.comm_ms).toEqual({ mean: 41.667, p50: 40, p95: 45 });
  });

  it('gives overlaps per step and exposed communication (not under compute)', () => {
    const s0 = b.per_step[0];
    expect(s0?.overlaps).toEqual([
      { kind: 'category', a: 'communication', b: 'compute', ms: 20 },
      { kind: 'span', a: 'all_gather', b: 'attn', ms: 10 },
      { kind: 'span', a: 'all_gather', b: 'qkv_all_to_all', ms: 5 },
      { kind: 'span', a: 'attn', b: 'qkv_all_to_all', ms: 15 },
    ]);
    // Exposed: rank 0 comm 10-40, 50-60 minus compute 30-70 = 20; rank 1 10-30, 50-70 minus 30-70 = 20.
    expect(s0?.exposed_comm_ms).toBe(20);
    // Step 2: rank 0's extra qkv 80-90 lies outside compute: (30 + 20) / 2.
    expect(b.per_step[2]?.exposed_comm_ms).toBe(25);
    expect(b.exposed_comm_ms).toEqual({ mean: 21.667, p50: 20, p95: 25 });
    expect(b.overlaps.find((o) => o.kind === 'span' && o.a === 'attn')?.overlap_ms.mean).toBe(15);
  });

  it('without compute spans, exposed communication is unknown, not all of it', () => {
    const noCompute = madeRun().filter((m) => m.stage !== 'attn');
    const nb = buildBreakdown(noCompute, stages);
    expect(nb?.exposed_comm_ms).toBeNull();
    expect(nb?.per_step[0]?.exposed_comm_ms).toBeNull();
    expect(nb?.comm_ms?.mean).toBe(41.667);
  });
});

describe('overlap bounds', () => {
  it('pairs only the 12 span names with the largest totals, and has no communication figure without communication spans', () => {
    // 13 names, all over the same 0-20 ms of step 0; name k lasts 20 - k ms, so n12 is the smallest.
    const marks = [...stepMarks(1, 100)];
    for (let k = 0; k < 13; k++) marks.push(...span(`n${String(k).padStart(2, '0')}`, 'compute', 0, 0, 0, 20 - k));
    marks.push(...span('plain', 'x', 0, 0, 50, 51).map((m) => ({ ...m, category: undefined })));
    const b = buildBreakdown(marks, buildStages(stepMarks(1, 100), T0 + 1000).stages);
    const named = new Set(b?.overlaps.filter((o) => o.kind === 'span').flatMap((o) => [o.a, o.b]));
    expect(named.size).toBe(12);
    expect(named.has('n12')).toBe(false);
    expect(b?.overlaps.filter((o) => o.kind === 'span')).toHaveLength(66);
    expect(b?.comm_ms).toBeNull();
    expect(b?.categories.map((c) => c.category)).toEqual(['compute', 'uncategorized']);
  });
});

describe('step attribution', () => {
  const slots = [
    { step: 0, start: 0, end: 100 },
    { step: 1, start: 100, end: 200 },
    { step: 0, start: 1000, end: 1100 },
  ];
  const s = (step: number | undefined, start: number) => ({ name: 'x', category: 'c', rank: 0, start, end: start + 1, timing: 'cuda' as const, ...(step !== undefined ? { step } : {}) });

  it('goes by the span step number, to the latest window of that step begun before it', () => {
    // GPU work of step 1 running after the host closed the step still belongs to step 1.
    expect(slotOf(s(1, 250), slots)).toBe(1);
    // A second request's step 0 goes to the second window of step 0.
    expect(slotOf(s(0, 1050), slots)).toBe(2);
    expect(slotOf(s(0, 50), slots)).toBe(0);
    expect(slotOf(s(0, 1000), slots)).toBe(2);
    // Before any window of its step: the first one.
    expect(slotOf(s(1, 50), slots)).toBe(1);
    expect(slotOf(s(7, 50), slots)).toBe(-1);
  });

  it('without a step number, by the window the span starts in', () => {
    expect(slotOf(s(undefined, 150), slots)).toBe(1);
    expect(slotOf(s(undefined, 100), slots)).toBe(1);
    expect(slotOf(s(undefined, 500), slots)).toBe(-1);
  });

  it('without step stages, the span step numbers are the steps, and spans outside are listed apart', () => {
    const marks = [...span('a2a', 'communication', 0, 0, 0, 2), ...span('a2a', 'communication', 0, 1, 10, 13), ...span('setup', 'compute', 0, undefined, 20, 25)];
    const b = buildBreakdown(marks, []);
    expect(b?.step_stage).toBeNull();
    // No step has a duration of its own; the GPU's step 1 runs from the end of step 0's last span (2) to its own last end (13).
    expect(b?.per_step.map((r) => [r.step, r.duration_ms, r.spans.a2a])).toEqual([[0, null, 2], [1, 11, 3]]);
    expect([b?.step_clock, b?.step_source]).toEqual(['cuda', 'span-ends']);
    expect(b?.spans[0]?.share_pct).toBe(27.273);
    expect(b?.outside_steps).toEqual([{ name: 'setup', count: 1, total_ms: 5 }]);
  });
});

describe('span pairing and drops', () => {
  it('pairs per rank, name and step, and says what did not pair', () => {
    const marks: SpanMarkLike[] = [
      ...span('a', 'compute', 0, 0, 0, 5),
      ...span('a', 'compute', 0, 0, 5, 9), // begins where the previous one ends
      { kind: 'end', stage: 'a', rank: 1, step: 0, t: T0 + 3, timing: 'cuda' },
      { kind: 'begin', stage: 'b', rank: 0, t: T0 + 3, timing: 'host' },
      { kind: 'begin', stage: 'stage-not-span', t: T0 },
    ];
    const { spans, problems } = pairSpans(marks);
    expect(spans.map((x) => [x.name, x.start - T0, x.end - T0])).toEqual([['a', 0, 5], ['a', 5, 9]]);
    expect(problems).toEqual(['1 span end marks without a begin: ignored', '1 spans never ended: left out of the breakdown']);
  });

  it('adds up each rank’s last dropped count', () => {
    const m = (rank: number, dropped: number): SpanMarkLike => ({ kind: 'begin', stage: 'x', t: T0, rank, dropped });
    expect(droppedCount([m(0, 3), m(0, 5), m(1, 2)])).toBe(7);
    const b = buildBreakdown([...span('a', 'compute', 0, 0, 0, 5), m(0, 4)], []);
    expect(b?.dropped).toBe(4);
    expect(b?.problems).toEqual(["the workload's marks client dropped 4 marks (buffer full or undeliverable): spans are missing"]);
  });
});

describe('report with spans', () => {
  const marks: Array<SpanMarkLike & { source: string; gauges?: Record<string, number> }> = [
    { kind: 'begin' as const, stage: 'request', t: T0 - 1000, source: 'http' },
    { kind: 'begin' as const, stage: 'denoise', t: T0 - 1, source: 'http', gauges: { torch_reserved_mib: 1000 } },
    ...madeRun().map((m) => ({ ...m, source: 'http' })),
    { kind: 'end' as const, stage: 'denoise', t: T0 + 301, source: 'http', rank: 1, gauges: { torch_reserved_mib: 900, torch_max_reserved_mib: 1500 } },
    { kind: 'end' as const, stage: 'request', t: T0 + 1000, source: 'http' },
  ];
  const input: ReportInput = { run: { id: 'r', kind: 'run', startedAt: T0 - 2000, endedAt: T0 + 2000, exitCode: 0 }, hosts: [{ host: 'h', gpus: [], samples: [], marks }] };
  const r = addBreakdown(buildReport(input, DEFAULT_THRESHOLDS), input);

  it('lists stages and steps only; spans go to the breakdown', () => {
    expect(r.hosts[0]?.stages.map((s) => s.name)).toEqual(['request', 'denoise']);
    expect(r.hosts[0]?.stages[1]?.steps?.count).toBe(3);
    expect(r.hosts[0]?.breakdown?.spans.length).toBe(3);
  });

  it('gives the headline figures', () => {
    expect(r.headline).toEqual({
      request_total_ms: 2000,
      request_source: 'request',
      request_clock: 'host',
      step_stage: 'denoise_step',
      step_mean_ms: 100,
      step_clock: 'cuda',
      step_source: 'step-spans',
      span_clock: 'cuda',
      comm_total_ms: 41.667,
      exposed_comm_ms: 21.667,
      reserved_peak_mib: 1500,
      spans: { attn: 40, qkv_all_to_all: 31.667, all_gather: 25 },
    });
  });
});
