/**
 * Replays the designed-phase capture (test/gpu/phases.sh on a real GPU; its store.sqlite.gz
 * copied to test/fixtures/phases-h100/) through the report and checks each phase against
 * test/gpu/phases-design.json: the label exactly, every state's share within 10 points.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageReport } from '../collector/src/analysis/report.js';
import { STATES } from '../collector/src/analysis/labels.js';
import { makeReport } from '../collector/src/report/index.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { ROOT } from './helpers/fixtures.js';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'phases-h100', 'store.sqlite.gz');
const design = JSON.parse(readFileSync(path.join(ROOT, 'test', 'gpu', 'phases-design.json'), 'utf8')) as {
  run: string;
  phases: Array<{ stage: string; label: string; shares: Partial<Record<(typeof STATES)[number], number>> }>;
};

describe.skipIf(!existsSync(FIXTURE))('the designed phases captured on a real GPU (test/gpu/phases.sh)', () => {
  let stages: StageReport[] = [];
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-phases-'));
    writeFileSync(path.join(dir, 'stagewatch.sqlite'), gunzipSync(readFileSync(FIXTURE)));
    const store = new SqliteStore(dir);
    stages = makeReport(store, design.run).hosts.flatMap((h) => h.stages);
    store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Measured on the H100 capture (re-captured with GPM on the driver's refresh times, GPU holders'
   * threads tracked while idle, thread loads over their reads' own times) and not yet right, so
   * pinned as failing (a fix makes it pass and this list must shrink): in mixed_three host-bound
   * comes out 0.20 and idle 0.13 against 0.30 and 0, at 100, 50 and 25 ms grids alike. The cell
   * where each CPU burst begins holds a busiest-thread reading of 85-90 % (the burst covers that
   * share of the reading: it starts ~10 ms after the spin's last wait), under hostThreadPct, and
   * with the GPU quiet it falls through to idle: the rules give a whole cell one state from
   * averaged facts. See #11's note.
   */
  const KNOWN_WRONG = new Set(['mixed_three']);
  const check = (p: (typeof design.phases)[number]): void => {
    const s = stages.find((x) => x.name === p.stage);
    expect(s, `stage ${p.stage} in the capture`).toBeDefined();
    const got = Object.fromEntries(STATES.map((k) => [k, s?.shares[k]]));
    for (const k of STATES) expect(Math.abs((s?.shares[k] ?? 0) - (p.shares[k] ?? 0)), `${p.stage} ${k}: ${JSON.stringify(got)}; ${s?.evidence}`).toBeLessThanOrEqual(0.1);
    expect(s?.bottleneck, s?.evidence).toBe(p.label);
  };
  const right = design.phases.filter((p) => !KNOWN_WRONG.has(p.stage));
  const wrong = design.phases.filter((p) => KNOWN_WRONG.has(p.stage));
  it.each(right.map((p) => [p.stage, p] as const))('%s', (_name, p) => check(p));
  it.fails.each(wrong.map((p) => [p.stage, p] as const))('%s (known wrong: shares off by more than 10 points)', (_name, p) => check(p));
});
