import { describe, expect, it } from 'vitest';
import { CELL_CASES, LABEL_CASES, OFFLOAD_CELL_CASES, OFFLOAD_STAGE_CASES } from './rules.cases.js';
import { CELL_RULES, classifyCell, holds, labelOf, offloadCell, offloadStage, type CellFacts } from './rules.js';
import { DEFAULT_THRESHOLDS, STATES, ThresholdsSchema } from './thresholds.js';

const th = DEFAULT_THRESHOLDS;

describe('per-interval state rules', () => {
  it.each(CELL_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const got = classifyCell(c.facts, th);
    for (const s of STATES) expect(got[s] ?? 0, s).toBeCloseTo(c.want[s] ?? 0, 6);
  });

  it('gives shares that sum to one for every case', () => {
    for (const c of CELL_CASES) expect(STATES.reduce((a, s) => a + (classifyCell(c.facts, th)[s] ?? 0), 0), c.name).toBeCloseTo(1, 9);
  });

  it('reads the thresholds it is given, not the defaults', () => {
    const strict = ThresholdsSchema.parse({ computeSmActivePct: 90 });
    const facts = { ...(CELL_CASES.find((c) => c.name === 'sm above 70')?.facts as CellFacts), sm: 80 };
    expect(classifyCell(facts, th)).toEqual({ compute: 1 });
    expect(classifyCell(facts, strict)).toEqual({ compute: 0.5, idle: 0.5 });
  });

  it('never compares a missing figure', () => {
    const nothing: CellFacts = { sm: null, util: null, linkLoad: null, linkRate: null, thread: null, cores: null, coreMax: null, disk: null };
    for (const r of CELL_RULES) for (const c of r.when) if (c.op !== 'absent' && c.op !== 'present') expect(holds(c, nothing, th)).toBe(false);
  });
});

describe('labels and offload', () => {
  it.each(LABEL_CASES.map((c) => [c.name, c] as const))('label: %s', (_n, c) => expect(labelOf(c.shares, th)).toBe(c.want));
  it.each(OFFLOAD_CELL_CASES.map((c) => [String(c.h2d), c] as const))('offload interval at %s MiB/s', (_n, c) => expect(offloadCell(c.h2d, th)).toBe(c.want));
  it.each(OFFLOAD_STAGE_CASES.map((c) => [c.share, c] as const))('offload named at share %s', (_n, c) => expect(offloadStage(c.share, th)).toBe(c.want));
});
