/**
 * Replays the two-GPU designed-phase capture (test/gpu/phases2.sh on a real 2×H200 with NCCL; its
 * store.sqlite.gz copied to test/fixtures/phases-2gpu/) through the report and checks each phase
 * on each GPU against test/gpu/phases2-design.json: labels exactly, every share within 10 points,
 * and link load against the NVLink capacity the agent read from NVML.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StageReport } from '../collector/src/analysis/report.js';
import { STATES } from '../collector/src/analysis/labels.js';
import { ROOT } from './helpers/fixtures.js';
import { stagesOfCapture } from './helpers/replay-store.js';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'phases-2gpu', 'store.sqlite.gz');
type Shares = Partial<Record<(typeof STATES)[number], number>>;
const design = JSON.parse(readFileSync(path.join(ROOT, 'test', 'gpu', 'phases2-design.json'), 'utf8')) as {
  run: string;
  phases: Array<{ stage: string; label: string; gpus: Array<{ label: string; shares: Shares }> }>;
};

describe('the designed two-GPU phases captured on 2×H200 with NCCL (test/gpu/phases2.sh)', () => {
  let stages: StageReport[] = [];
  beforeAll(() => {
    stages = stagesOfCapture(FIXTURE, design.run);
  });

  /**
   * Design phases the committed capture does not hold yet: cpu and disk were added to phases2.py
   * after it was taken, and no 2×H200 was lent since. A new capture must hold them (the list then
   * empties); until then they are named here rather than skipped quietly.
   */
  const NOT_CAPTURED = ['cpu', 'disk'];
  it('holds every designed phase but those named as not captured yet', () => {
    expect(design.phases.map((p) => p.stage).filter((n) => !stages.some((s) => s.name === n))).toEqual(NOT_CAPTURED);
  });

  it.each(design.phases.filter((p) => !NOT_CAPTURED.includes(p.stage)).map((p) => [p.stage, p] as const))('%s', (_name, p) => {
    const s = stages.find((x) => x.name === p.stage);
    expect(s, `stage ${p.stage} in the capture`).toBeDefined();
    p.gpus.forEach((want, i) => {
      const g = s?.gpus.find((x) => x.index === i);
      expect(g, `${p.stage}: GPU ${i}`).toBeDefined();
      for (const k of STATES) expect(Math.abs((g?.shares[k] ?? 0) - (want.shares[k] ?? 0)), `${p.stage} GPU ${i} ${k}: ${g?.evidence}`).toBeLessThanOrEqual(0.1);
      expect(g?.bottleneck, g?.evidence).toBe(want.label);
    });
    expect(s?.bottleneck, s?.evidence).toBe(p.label);
  });

  it('judges NVLink against the capacity NVML gave (18 links at 26.56 GB/s each way)', () => {
    const a2a = stages.find((x) => x.name === 'all_to_all');
    for (const g of a2a?.gpus ?? []) {
      expect(g.nvlink_capacity_mibps).toBeCloseTo(455966.95, 1);
      expect(g.nvlink_load_pct).toBeGreaterThan(50);
      expect(g.evidence).toMatch(/NVLink at \d+% of capacity/);
    }
    expect(a2a?.gpus.length).toBe(2);
  });
});
