import { describe, expect, it } from 'vitest';
import { compareRuns, configOf, type RunFigures } from './compare-runs.js';
import { verdictOf, welchInterval } from './noise.js';

/** Deterministic normal samples: mulberry32 and Box–Muller, so the known answer never moves. */
function normals(seed: number, n: number, mean: number, sd: number): number[] {
  let s = Math.imul(seed, 0x9e3779b1) >>> 0;
  const u = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

describe('Welch interval', () => {
  it('matches the worked example', () => {
    // a: mean 12, variance 4, n 3; b: mean 23, variance 20/3, n 4. se = sqrt(4/3 + 5/3) = sqrt(3);
    // df = 9 / ((4/3)^2/2 + (5/3)^2/3) = 4.959; t(0.975, 4.959) = 2.577 (integrated independently).
    const iv = welchInterval([10, 12, 14], [20, 22, 24, 26], 0.95);
    expect(iv?.diff).toBe(11);
    expect(iv?.df).toBeCloseTo(4.959, 3);
    expect(iv?.ci[0]).toBeCloseTo(6.537, 2);
    expect(iv?.ci[1]).toBeCloseTo(15.463, 2);
  });

  it('needs two values a side, and is exact where nothing varies', () => {
    expect(welchInterval([1], [1, 2], 0.95)).toBeNull();
    expect(welchInterval([5, 5], [7, 7, 7], 0.95)).toEqual({ diff: 2, ci: [2, 2], df: Infinity });
  });

  it('covers a known difference about 95 % of the time, and finds it', () => {
    let covered = 0;
    const reps = 400;
    for (let i = 0; i < reps; i++) {
      const iv = welchInterval(normals(2 * i + 1, 10, 100, 2), normals(2 * i + 2, 15, 103, 4), 0.95);
      if (iv && iv.ci[0] <= 3 && 3 <= iv.ci[1]) covered++;
    }
    expect(covered / reps).toBeGreaterThan(0.92);
    expect(covered / reps).toBeLessThan(0.98);
    // n = 20 a side, sd 1, true difference 3: clearly slower; true difference 0: within noise.
    expect(verdictOf(welchInterval(normals(7, 20, 50, 1), normals(8, 20, 53, 1), 0.95)?.ci ?? null, true)).toBe('slower');
    expect(verdictOf(welchInterval(normals(9, 20, 50, 1), normals(10, 20, 50, 1), 0.95)?.ci ?? null, true)).toBe('within noise');
  });
});

describe('verdicts', () => {
  it('calls a change only where the whole interval is on one side of zero', () => {
    expect(verdictOf([0, 1], true)).toBe('within noise');
    expect(verdictOf([0.001, 1], true)).toBe('slower');
    expect(verdictOf([-1, -0.001], true)).toBe('faster');
    expect(verdictOf([-1, 0], true)).toBe('within noise');
    expect(verdictOf([0.5, 1], false)).toBe('higher');
    expect(verdictOf([-1, -0.5], false)).toBe('lower');
    expect(verdictOf(null, true)).toBe('no estimate');
  });
});

const fig = (runId: string, labels: Record<string, string>, step: number, steps: number[], extra: Partial<RunFigures['values']> = {}): RunFigures => ({
  runId,
  labels,
  values: {
    request_total_ms: { value: step * 20 + 1000, per_step: [] },
    step_mean_ms: { value: step, per_step: steps },
    reserved_peak_mib: { value: 20000, per_step: [] },
    ...extra,
  },
});

describe('compare over runs', () => {
  // Baseline: three repeats near 100 ms a step; "gate": three near 110; "off": one run, steps near 95.
  const runs = [
    fig('b1', { config: 'base' }, 100, []),
    fig('g1', { config: 'gate' }, 110, []),
    fig('b2', { config: 'base' }, 101, []),
    fig('g2', { config: 'gate' }, 111, []),
    fig('b3', { config: 'base' }, 99, [99, 100, 98, 101, 99]),
    fig('g3', { config: 'gate' }, 109, []),
    fig('o1', { config: 'off' }, 95, [95, 94, 96, 95, 95]),
  ];
  const res = compareRuns('b2', runs, { metrics: ['step_mean_ms', 'request_total_ms', 'reserved_peak_mib'] });

  it('groups repeats by labels, baseline first', () => {
    expect(res.baseline).toEqual({ run: 'b2', config: 'config=base' });
    expect(res.rows.map((r) => [r.config, r.runs])).toEqual([
      ['config=base', ['b1', 'b2', 'b3']],
      ['config=gate', ['g1', 'g2', 'g3']],
      ['config=off', ['o1']],
    ]);
    expect(res.rows[0]?.values.step_mean_ms).toEqual({ mean: 100, sd: 1, n: 3, clock: null });
    expect(res.rows[0]?.change).toBeNull();
  });

  it('judges repeats by their run values', () => {
    const c = res.rows[1]?.change?.step_mean_ms;
    // diff 10, se = sqrt(1/3 + 1/3), df 4, t(0.975, 4) = 2.776: 10 ± 2.267, i.e. 10 % ± 2.267 %.
    expect(c).toMatchObject({ diff: 10, pct: 10, verdict: 'slower', basis: 'repeats' });
    expect(c?.ci_pct?.[0]).toBeCloseTo(7.733, 2);
    expect(c?.ci_pct?.[1]).toBeCloseTo(12.267, 2);
    expect(res.rows[1]?.change?.request_total_ms?.verdict).toBe('slower');
    // Equal memory in every run: the interval is exactly 0, within noise.
    expect(res.rows[1]?.change?.reserved_peak_mib).toMatchObject({ diff: 0, verdict: 'within noise', basis: 'repeats' });
  });

  it('judges a single run by per-step values, and says so; without them, no estimate', () => {
    const c = res.rows[2]?.change?.step_mean_ms;
    expect(c?.basis).toBe('steps');
    expect(c?.verdict).toBe('faster');
    expect(c?.pct).toBe(-5);
    expect(res.rows[2]?.change?.request_total_ms).toEqual({ diff: -100, pct: -3.333, ci_pct: null, verdict: 'no estimate', basis: null });
  });

  it('one row per run on request, and unlabelled runs stand alone', () => {
    expect(compareRuns('b1', runs, { by: 'run' }).rows.map((r) => r.config)).toEqual(['b1', 'g1', 'b2', 'g2', 'b3', 'g3', 'o1']);
    expect(configOf({ runId: 'x', labels: {} }, 'config')).toBe('x');
    expect(configOf({ runId: 'x', labels: { b: '2', a: '1' } }, 'config')).toBe('a=1,b=2');
    expect(() => compareRuns('nope', runs)).toThrow(/baseline run "nope" is not among the runs compared/);
  });
});

describe('compare across clocks', () => {
  const clocked = (runId: string, config: string, step: number, clock: string | null): RunFigures =>
    fig(runId, { config }, step, [step - 1, step, step + 1], { step_mean_ms: { value: step, per_step: [step - 1, step, step + 1], clock } });

  it('never judges a step timed by CUDA events against one the host marked', () => {
    // The H100 capture: spans off, host-marked steps of 35 ms; spans on, GPU steps of 52 ms.
    const res = compareRuns('off', [clocked('off', 'off', 35, 'host'), clocked('on', 'on', 52, 'cuda')], { metrics: ['step_mean_ms'] });
    expect(res.rows.map((r) => r.values.step_mean_ms?.clock)).toEqual(['host', 'cuda']);
    expect(res.rows[1]?.change?.step_mean_ms).toEqual({ diff: null, pct: null, ci_pct: null, verdict: 'not comparable', basis: null, note: 'host clock vs cuda clock' });
  });

  it('judges one clock against itself, and not a configuration whose repeats differ in clock', () => {
    const same = compareRuns('a', [clocked('a', 'x', 52, 'cuda'), clocked('b', 'y', 53, 'cuda')], { metrics: ['step_mean_ms'] });
    expect(same.rows[1]?.change?.step_mean_ms).toMatchObject({ pct: 1.923, verdict: 'within noise', basis: 'steps' });
    const mixed = compareRuns('a', [clocked('a', 'x', 52, 'cuda'), clocked('b', 'y', 53, 'cuda'), clocked('c', 'y', 40, 'host')], { metrics: ['step_mean_ms'] });
    expect(mixed.rows[1]?.values.step_mean_ms?.clock).toBe('mixed');
    expect(mixed.rows[1]?.change?.step_mean_ms).toMatchObject({ verdict: 'not comparable', note: 'the runs of one configuration read it on different clocks' });
  });
});
