import { HttpError, RequestTimedOutError } from '@influxdata/influxdb-client';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@stagewatch/shared';
import { CollectorClient } from '../agent/src/transport/client.js';
import { Spool } from '../agent/src/transport/spool.js';
import { startCollector } from '../collector/src/server.js';
import { classifyWriteError } from '../collector/src/sinks/influx.js';
import { tempDir } from './helpers/agent.js';
import { waitFor } from './helpers/processes.js';
import { startVictoria } from './helpers/victoria.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('InfluxDB errors: permanent or temporary', () => {
  it('calls 4xx but 429 permanent, and 429, 5xx and network failures temporary', () => {
    const kind = (e: unknown) => classifyWriteError(e).kind;
    for (const status of [400, 401, 403, 404, 413, 422]) expect(kind(new HttpError(status, 'x', '{"code":"invalid"}')), String(status)).toBe('permanent');
    for (const status of [429, 500, 502, 503]) expect(kind(new HttpError(status, 'x')), String(status)).toBe('temporary');
    expect(kind(new RequestTimedOutError())).toBe('temporary');
    expect(kind(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('temporary');
    expect(classifyWriteError(new HttpError(401, 'Unauthorized', 'Unauthorized'))).toEqual({ kind: 'permanent', status: 401, message: 'HTTP 401: Unauthorized' });
  });

  it('skips past pages a real server refuses for good (401), records the ranges, counts them and says it once', async () => {
    // victoria-metrics with basic auth answers the sink's token with 401 on every write.
    const vm = await startVictoria(undefined, undefined, ['-httpAuth.username=stagewatch', '-httpAuth.password=secret-pass']);
    cleanup.push(() => vm.stop());
    const logs: string[] = [];
    const collector = await startCollector({
      host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: (m) => logs.push(m),
      influx: { url: vm.url, token: 'wrong', org: 'o', bucket: 'b', pageSize: 10, intervalMs: 50, backoffMaxMs: 100, permanentTries: 2 },
    });
    cleanup.push(() => collector.close());
    const spool = Spool.open(tempDir(), 1 << 20, () => {}, 'refused');
    for (let seq = 1; seq <= 3; seq++) {
      const samples = Array.from({ length: 10 }, (_, i) => ({ t: 1_700_000_000_000 + seq * 100 + i, host: 'refused-host', source: 'host', m: { cpu_pct: i } }));
      const marks = [{ t: 1_700_000_000_000 + seq * 100, kind: 'begin', stage: `s${seq}`, source: 'http' }];
      spool.append(samples.length, (s) => JSON.stringify({ type: 'batch', seq: s, runId: 'refused-run', samples, health: [], marks, loss: spool.loss }));
    }
    const client = new CollectorClient({
      url: collector.url, spool, log: () => {},
      hello: () => ({ type: 'hello', protocol: PROTOCOL_VERSION, agentId: spool.agentId, host: 'refused-host', runId: 'refused-run', gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 'test' }),
    });
    client.start();
    expect(await client.forceFlush(10_000)).toBe(true);
    await client.shutdown();
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await collector.telemetry.metricsText())?.[1]);
    // Nothing is held back for good: the backlog empties although nothing was written.
    await waitFor('the sink to pass every page', async () => (await metric('stagewatch_collector_influx_backlog')) === 0);
    const skipped = collector.store.sinkSource().skipped('influx');
    const covered = (table: string) => skipped.filter((r) => r.table === table).reduce((n, r) => n + (r.to - r.from), 0);
    expect(covered('samples')).toBe(30);
    expect(covered('marks')).toBe(3);
    expect(skipped.every((r) => /^HTTP 401/.test(r.error))).toBe(true);
    expect(await metric('stagewatch_collector_influx_points_written_total')).toBe(0);
    expect(await metric('stagewatch_collector_influx_permanent_errors_total')).toBeGreaterThanOrEqual(2 * 3);
    expect(await metric('stagewatch_collector_influx_write_errors_total')).toBe(0);
    const text = await collector.telemetry.metricsText();
    expect(text).toMatch(/stagewatch_collector_influx_skipped_rows_total\{table="samples"\} 30/);
    expect(logs.filter((l) => /InfluxDB refused a write \(HTTP 401/.test(l))).toHaveLength(1);
  });
});
