/**
 * Retention on real captures (the H100 designed phases, the 2-GPU phases, the Wan seed run): a
 * run's report after its raw readings are rolled up into 1 s readings has the same stages
 * (marks are never pruned), the same labels but where noted, and stage means within a stated
 * tolerance of the raw report's. Stages of 1 s or more: util_pct and sm_active_pct within 2.5
 * points, power_w within 1 %, host cpu_pct within 0.5 points; maxima (GPU util and memory, the
 * busiest host core) exactly, the workload's peak RSS within 5 %. Then the same stages after 10 s.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReportJson } from '../collector/src/report/index.js';
import { makeReport, renderReport } from '../collector/src/report/index.js';
import { bucketSeriesFromStore } from '../collector/src/report/series.js';
import { Pruner, type RetentionPolicy } from '../collector/src/store/retention/pruner.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { ROOT } from './helpers/fixtures.js';

const CAPTURES = [
  { fixture: 'phases-h100', run: 'phases' },
  { fixture: 'phases-2gpu', run: 'phases2' },
  { fixture: 'seed-h100', run: 'seed-nofsdp-2' },
].map((c) => ({ ...c, file: path.join(ROOT, 'test', 'fixtures', c.fixture, 'store.sqlite.gz') }));

/** Far after every capture: everything is older than any retention. */
const LATER = Date.UTC(2100, 0, 1);

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openCopy(file: string): SqliteStore {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-retention-replay-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'stagewatch.sqlite'), gunzipSync(readFileSync(file)));
  return new SqliteStore(dir);
}

function pruneAll(store: SqliteStore, policy: RetentionPolicy): void {
  vi.useFakeTimers();
  let idle = false;
  const p = new Pruner(store.retentionTarget(), policy, { now: () => LATER, onIdle: () => (idle = true) });
  p.start();
  for (let i = 0; i < 100_000 && !idle; i++) vi.advanceTimersByTime(1);
  p.close();
  vi.useRealTimers();
  expect(idle).toBe(true);
}

const close = (a: number | null | undefined, b: number | null | undefined, tol: number, what: string): void => {
  expect(a === null || a === undefined, `${what}: present in both`).toBe(b === null || b === undefined);
  if (a !== null && a !== undefined && b !== null && b !== undefined) expect(Math.abs(a - b), `${what}: ${a} raw, ${b} rolled up`).toBeLessThanOrEqual(tol);
};

function compareStages(raw: ReportJson, rolled: ReportJson, labelsMayDiffer: ReadonlySet<string>): void {
  expect(rolled.hosts.map((h) => h.host)).toEqual(raw.hosts.map((h) => h.host));
  raw.hosts.forEach((h, i) => {
    const r = rolled.hosts[i] as (typeof rolled.hosts)[number];
    expect(r.stages.map((s) => [s.name, s.start_ms, s.end_ms])).toEqual(h.stages.map((s) => [s.name, s.start_ms, s.end_ms]));
    h.stages.forEach((s, k) => {
      const t = r.stages[k] as (typeof r.stages)[number];
      if (s.duration_s < 1) return;
      if (!labelsMayDiffer.has(s.name)) expect(t.bottleneck, `${s.name}: ${t.evidence}`).toBe(s.bottleneck);
      s.gpus.forEach((g, j) => {
        const u = t.gpus[j];
        close(g.util_pct?.mean, u?.util_pct?.mean, 2.5, `${s.name} GPU ${g.index} util_pct`);
        close(g.sm_active_pct?.mean, u?.sm_active_pct?.mean, 2.5, `${s.name} GPU ${g.index} sm_active_pct`);
        close(g.power_w.mean, u?.power_w.mean, (g.power_w.mean ?? 0) * 0.01, `${s.name} GPU ${g.index} power_w`);
        // Maxima come from the roll-ups' max columns: the readings' own.
        close(g.util_pct?.max, u?.util_pct?.max, 0, `${s.name} GPU ${g.index} util_pct max`);
        close(g.mem_used_mib.max, u?.mem_used_mib.max, 0, `${s.name} GPU ${g.index} mem_used_mib max`);
      });
      close(s.host.cpu_core_max_pct.max, t.host.cpu_core_max_pct.max, 0, `${s.name} host cpu_core_max_pct max`);
      close(s.proc.rss_mib.max, t.proc.rss_mib.max, (s.proc.rss_mib.max ?? 0) * 0.05, `${s.name} proc rss_mib max`);
      close(s.host.cpu_pct.mean, t.host.cpu_pct.mean, 0.5, `${s.name} host cpu_pct`);
    });
  });
}

describe('reports after retention rolled a run up (real captures)', () => {
  for (const c of CAPTURES) {
    it.skipIf(!existsSync(c.file))(`${c.fixture}: the same stages, means within tolerance, at 1 s and then at 10 s; the report says which`, () => {
      const store = openCopy(c.file);
      const raw = makeReport(store, c.run);
      expect(raw.hosts.every((h) => h.resolution === undefined)).toBe(true);
      const host = (raw.hosts[0] as (typeof raw.hosts)[number]).host;
      const charted = (): number => bucketSeriesFromStore(store, c.run, host, 300, 0).lines['gpu0.util_pct']?.v.filter((v) => v !== null).length ?? 0;
      const rawPoints = charted();
      pruneAll(store, { rawMs: 60_000, oneSecondMs: 0, tenSecondMs: 0 });
      const oneSecond = makeReport(store, c.run);
      // Charts (series) and the live view's read still find the host's readings, now 1 s ones.
      expect(charted()).toBeGreaterThan(0);
      expect(charted()).toBeLessThanOrEqual(rawPoints);
      const live = store.recent(host, 0).samples;
      expect(live.length).toBeGreaterThan(0);
      expect(live.every((x) => x.dur_ms !== undefined)).toBe(true);
      // mixed_three alternates compute, waiting and host-bound work within each second: at 1 s its
      // time shares blur into compute (measured: mixed 67.5 % util raw, compute at 1 s).
      compareStages(raw, oneSecond, new Set(['mixed_three']));
      for (const h of oneSecond.hosts) expect(h.resolution?.map((x) => x.resolution)).toEqual(['1s']);
      expect(renderReport(oneSecond, 'md')).toMatch(/^Readings \(retention\): 1s \d{4}-.+ to \d{4}-/m);
      expect(renderReport(raw, 'md')).not.toMatch(/Readings \(retention\)/);
      expect(renderReport(oneSecond, 'html', store)).toContain('<p class="muted resolution">Readings (retention): 1s ');
      pruneAll(store, { rawMs: 60_000, oneSecondMs: 60_000, tenSecondMs: 0 });
      const tenSecond = makeReport(store, c.run);
      expect(tenSecond.hosts.map((h) => h.stages.map((s) => s.name))).toEqual(raw.hosts.map((h) => h.stages.map((s) => s.name)));
      for (const h of tenSecond.hosts) expect(h.resolution?.map((x) => x.resolution)).toEqual(['10s']);
      store.close();
    });
  }
});
