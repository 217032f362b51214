/**
 * `serve --retain-raw` end to end: a real collector process on a data directory holding two
 * minutes of readings from long ago rolls them up on its own, and the report over HTTP says so.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ReportJson } from '../collector/src/report/index.js';
import { tempDir } from './helpers/agent.js';
import { startCollectorProc, waitFor, type CollectorProc } from './helpers/processes.js';
import { AGENT, openStore, storeWithBatches, T } from './helpers/retention-store.js';

const running: CollectorProc[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});

describe('serve --retain-raw', () => {
  it('rolls readings older than it into 1 s readings while serving; marks and the exactly-once record stay', async () => {
    const data = tempDir();
    const { store } = storeWithBatches(data, 240);
    store.close();
    const col = await startCollectorProc(data, 0, ['--retain-raw', '1m', '--retain-1s', '0']);
    running.push(col);
    expect(col.stderr()).toMatch(/retention: raw 1m, 1 s roll-ups kept for good, 10 s roll-ups kept for good/);
    const report = await waitFor('the run rolled up to 1 s', async () => {
      const r = (await (await fetch(`${col.url}/api/runs/run/report?format=json`)).json()) as ReportJson;
      return r.hosts[0]?.resolution?.some((x) => x.resolution === '1s') && !r.hosts[0].resolution.some((x) => x.resolution === 'raw') ? r : undefined;
    });
    const host = report.hosts[0] as (typeof report.hosts)[number];
    // Two minutes from T, every reading now a 1 s one; the stage from the kept mark is there.
    expect(host.resolution).toEqual([{ resolution: '1s', from_ms: T + 1000, to_ms: T + 120_000 }]);
    expect(host.stages.map((s) => s.name)).toEqual(['all']);
    // Each step is on /metrics: how long it held the collector.
    const metrics = await (await fetch(`${col.url}/metrics`)).text();
    expect(Number(/^stagewatch_collector_retention_step_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    col.proc.kill('SIGTERM');
    expect((await col.proc).exitCode).toBe(0);
    const after = openStore(data).store;
    expect(after.storedBatches(AGENT).length).toBe(240);
    expect(after.marks('run').length).toBe(1);
    after.close();
  });
});
