/**
 * Replays the seed-workload capture (test/gpu/seed-run.sh on one H100, NCCL world size 1; the
 * collector's store copied to test/fixtures/seed-h100/store.sqlite.gz) through `report --format json`
 * and `compare`, and checks #10's done-when figures against the workload's own CUDA-event ground
 * truth (gt-<run>-rank<r>.json), the way test/gpu/seed-check.py does on the device.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompareResult } from '../collector/src/analysis/compare-runs.js';
import { compareRequest } from '../collector/src/config/config.js';
import { makeReport, renderReport, type ReportJson } from '../collector/src/report/index.js';
import { makeCompare } from '../collector/src/report/compare-load.js';
import { renderCompare } from '../collector/src/report/compare-render.js';
import { absoluteTable, changeTable } from '../collector/src/report/compare-text.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { FIXTURES } from './helpers/fixtures.js';

const DIR = path.join(FIXTURES, 'seed-h100');
const STORE = path.join(DIR, 'store.sqlite.gz');

/** The fields of the workload's ground truth this test reads (seed_workload.py writes them). */
interface Truth {
  config: string;
  rank: number;
  spans: boolean;
  step_cuda: boolean;
  all_to_all_per_step_mean_ms: Record<string, number>;
  steps: Array<{ step: number; step_ms: number }>;
}

const A2A = ['qkv_all_to_all', 'out_all_to_all'] as const;
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Ground truth per run, every rank's file. */
function readTruths(): Map<string, Truth[]> {
  const byRun = new Map<string, Truth[]>();
  for (const f of readdirSync(DIR).filter((n) => /^gt-.+-rank\d+\.json$/.test(n)).sort()) {
    const g = JSON.parse(readFileSync(path.join(DIR, f), 'utf8')) as Truth;
    byRun.set(g.config, [...(byRun.get(g.config) ?? []), g]);
  }
  return byRun;
}

/** Each step's CUDA-event time, mean over ranks (seed-check.py's truth_steps). */
function truthSteps(gts: readonly Truth[]): Map<number, number> {
  const per = new Map<number, number[]>();
  for (const g of gts) for (const row of g.steps) per.set(row.step, [...(per.get(row.step) ?? []), row.step_ms]);
  return new Map([...per].map(([k, v]) => [k, mean(v)]));
}

const truths = existsSync(STORE) ? readTruths() : new Map<string, Truth[]>();
const runsOf = (kind: string): string[] => [...truths.keys()].filter((r) => r.replace(/-\d+$/, '') === kind).sort();

describe.skipIf(!existsSync(STORE))('the seed workload captured on a real H100 (test/gpu/seed-run.sh)', () => {
  let dir = '';
  let store: SqliteStore;
  const reports = new Map<string, ReportJson>();
  const compare = (baseline: string, runs: readonly string[], metrics: readonly string[]): CompareResult =>
    makeCompare(store, compareRequest({ baseline, runs: [...runs], metrics: metrics.join(',') }));

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-seed-'));
    writeFileSync(path.join(dir, 'stagewatch.sqlite'), gunzipSync(readFileSync(STORE)));
    // As `report` opens it: only a store that is there, nothing created beside it.
    store = new SqliteStore(dir, { mustExist: true });
    // What `report RUN --format json` prints, read back.
    for (const run of truths.keys()) reports.set(run, JSON.parse(renderReport(makeReport(store, run), 'json', store)) as ReportJson);
  });
  afterAll(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the seven configurations, two runs each, with ground truth for every one', () => {
    expect([...truths.keys()].map((r) => r.replace(/-\d+$/, '')).sort()).toEqual(
      ['ffn', 'full', 'gate', 'hoststeps', 'nofsdp', 'off', 'spans'].flatMap((k) => [`seed-${k}`, `seed-${k}`]),
    );
    for (const run of truths.keys()) expect(store.run(run), run).not.toBeNull();
  });

  it.each([...truths.keys()].sort())('%s: step mean on the cuda clock within 1 %% or 0.1 ms of the CUDA events', (run) => {
    const gts = truths.get(run) as Truth[];
    const rep = reports.get(run) as ReportJson;
    const hl = rep.headline;
    const bds = rep.hosts.flatMap((h) => (h.breakdown ? [h.breakdown] : []));
    const hostTimed = gts.every((g) => !g.step_cuda);
    expect(hl.step_clock).toBe('cuda');
    // Host-marked steps get their GPU times from where each step's CUDA spans end.
    expect(hl.step_source).toBe(hostTimed ? 'span-ends' : 'step-spans');
    const truth = truthSteps(gts);
    const reported = new Map(bds.flatMap((b) => b.per_step.flatMap((r) => (r.duration_ms === null ? [] : [[r.step, r.duration_ms] as const]))));
    // Span ends give no time to the first step (nothing ends before it): compare like with like, as seed-check.py does.
    const common = hostTimed ? [...truth.keys()].filter((k) => reported.has(k)) : [...truth.keys()];
    expect(common.length, 'steps compared').toBeGreaterThan(0);
    const t = mean(common.map((k) => truth.get(k) as number));
    const r = hl.step_mean_ms as number;
    expect(r, 'step_mean_ms').not.toBeNull();
    expect(Math.abs(r - t), `report ${r} vs truth ${t} ms`).toBeLessThanOrEqual(Math.max(0.01 * t, 0.1));
  });

  it.each([...truths.keys()].sort())('%s: per-step all_to_all within 5 %% or 0.1 ms of the CUDA events; no share of the step over 100 %%', (run) => {
    const gts = truths.get(run) as Truth[];
    const rep = reports.get(run) as ReportJson;
    const bds = rep.hosts.flatMap((h) => (h.breakdown ? [h.breakdown] : []));
    const spansOn = gts.every((g) => g.spans);
    for (const name of A2A) {
      const t = mean(gts.map((g) => g.all_to_all_per_step_mean_ms[name] as number));
      const r = rep.headline.spans[name];
      if (!spansOn) {
        expect(r, `${name} with spans off`).toBeUndefined();
        continue;
      }
      expect(r, name).toBeDefined();
      expect(Math.abs((r as number) - t), `${name}: report ${r} vs truth ${t} ms`).toBeLessThanOrEqual(Math.max(0.05 * t, 0.1));
    }
    const shares = [...bds.flatMap((b) => b.spans.map((s) => s.share_pct)), ...bds.flatMap((b) => b.categories.map((c) => c.share_pct))].filter((s): s is number => s !== null);
    if (spansOn) {
      // Steps and spans share the cuda clock here, so shares are given, not refused.
      expect(bds.map((b) => b.share_refused)).toEqual(bds.map(() => null));
      expect(shares.length).toBeGreaterThan(0);
    }
    for (const s of shares) expect(s).toBeLessThanOrEqual(100);
  });

  it('compare spans off / on / full: step mean within noise, on the cuda clock', () => {
    const [base, ...rest] = runsOf('seed-off');
    const result = compare(base as string, [...rest, ...runsOf('seed-spans'), ...runsOf('seed-full')], ['step_mean_ms', 'request_total_ms']);
    expect(result.rows.map((r) => [r.labels.spans, r.runs.length])).toEqual([
      ['off', 2],
      ['on', 2],
      ['full', 2],
    ]);
    for (const row of result.rows) expect(row.values.step_mean_ms?.clock, row.config).toBe('cuda');
    for (const row of result.rows.slice(1)) {
      expect(row.change?.step_mean_ms?.verdict, row.config).toBe('within noise');
      expect(row.change?.step_mean_ms?.basis, row.config).toBe('repeats');
    }
  });

  it('compare full / a2a_gate / ffn_only / fsdp_off: absolute table, %-change rows, and a2a_gate reserves more', () => {
    const metrics = ['request_total_ms', 'step_mean_ms', 'comm_total_ms', 'span:qkv_all_to_all', 'span:out_all_to_all', 'reserved_peak_mib'];
    const [base, ...rest] = runsOf('seed-full');
    const result = compare(base as string, [...rest, ...runsOf('seed-gate'), ...runsOf('seed-ffn'), ...runsOf('seed-nofsdp')], metrics);
    expect(result.metrics).toEqual(metrics);
    expect(result.rows.map((r) => [r.labels.config, r.runs.length])).toEqual([
      ['fsdp', 2],
      ['a2a_gate', 2],
      ['fsdp_ffn_only', 2],
      ['fsdp_off', 2],
    ]);

    const abs = absoluteTable(result);
    expect(abs.rows).toHaveLength(4);
    for (const row of abs.rows) for (const cell of row.slice(2)) expect(cell, row[0]).not.toBe('–');
    const pct = changeTable(result);
    expect(pct.rows.map((r) => r[0])).toEqual(result.rows.slice(1).map((r) => r.config));
    for (const row of pct.rows) for (const cell of row.slice(1)) expect(cell, row[0]).toMatch(/^[+-]?\d+\.\d\d % /);
    for (const row of result.rows.slice(1)) for (const m of metrics) expect(row.change?.[m]?.pct, `${row.config} ${m}`).not.toBeNull();
    // The same tables are what the CLI prints.
    const md = renderCompare(result, 'md');
    for (const line of [...abs.rows, ...pct.rows]) expect(md).toContain(`| ${line.join(' | ')} |`);

    // Capture facts (docs/gpu-run-h100-seed/compare-configs.md): a2a_gate reserves 24114 MiB, every other configuration 2290 MiB.
    const reserved = Object.fromEntries(result.rows.map((r) => [r.labels.config, r.values.reserved_peak_mib?.mean]));
    expect(reserved).toEqual({ fsdp: 2290, a2a_gate: 24114, fsdp_ffn_only: 2290, fsdp_off: 2290 });
    const gate = result.rows.find((r) => r.labels.config === 'a2a_gate');
    expect(gate?.change?.reserved_peak_mib?.verdict).toBe('higher');
    for (const row of result.rows.slice(1).filter((r) => r !== gate)) expect(row.change?.reserved_peak_mib?.verdict, row.config).toBe('within noise');
  });
});
