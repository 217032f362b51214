import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type Sample } from '@stagewatch/shared';
import { CollectorClient } from '../agent/src/transport/client.js';
import { Spool } from '../agent/src/transport/spool.js';
import { startCollector, type Collector } from '../collector/src/server.js';
import { tempDir } from './helpers/agent.js';

let collector: Collector;
beforeAll(async () => {
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: () => {} });
});
afterAll(async () => collector.close());

const sample = (util: number): Sample => ({ t: 1_700_000_000_000 + util, host: 'poison-host', source: 'gpu', gpu: 0, m: { util_pct: util } });
const batch = (runId: string, samples: unknown[], loss: Spool['loss']) => (seq: number) => JSON.stringify({ type: 'batch', seq, runId, samples, health: [], marks: [], loss });

function client(spool: Spool, runId: string, logs: string[]): CollectorClient {
  return new CollectorClient({
    url: `http://127.0.0.1:${collector.port}`,
    hello: () => ({ type: 'hello', protocol: PROTOCOL_VERSION, agentId: spool.agentId, host: 'poison-host', runId, gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 'test' }),
    spool,
    log: (m) => logs.push(m),
    backoff: { initialMs: 20, maxMs: 200 },
  });
}

const stored = (runId: string): number[] => [...collector.store.samples(runId)].map((s) => s.m.util_pct as number).sort((a, b) => a - b);

describe('a spool entry the collector refuses, or that is damaged, is quarantined and never blocks the rest', () => {
  it('finds the batches the collector refuses (1008), quarantines them, delivers the others and drains', async () => {
    const spool = Spool.open(tempDir(), 1 << 20, () => {}, 'poison');
    const logs: string[] = [];
    spool.append(1, batch('poison-run', [sample(1)], spool.loss));
    // A metric value JSON cannot carry (NaN becomes null): valid JSON, right checksum, wrong schema.
    spool.append(1, batch('poison-run', [{ ...sample(2), m: { util_pct: NaN } }], spool.loss));
    spool.append(1, batch('poison-run', [sample(3)], spool.loss));
    spool.append(1, batch('poison-run', [{ ...sample(4), source: 'nonsense' }], spool.loss));
    spool.append(1, batch('poison-run', [sample(5)], spool.loss));
    const c = client(spool, 'poison-run', logs);
    c.start();
    expect(await c.forceFlush(20_000)).toBe(true);
    expect(stored('poison-run')).toEqual([1, 3, 5]);
    expect(spool.loss).toMatchObject({ rejected: 2, corrupt: 0, quarantinedSamples: 2 });
    expect(readdirSync(path.join(spool.dir, 'quarantine')).map((f) => f.replace(/-[0-9a-f]{8}\.json/, ''))).toEqual(['000000000002-1.rejected', '000000000004-1.rejected']);
    expect(logs.join('\n')).toMatch(/the collector refused a batch \(1008 invalid batch: samples\.0\.m\.util_pct/);
    // The next batch carries the count to the collector, which keeps it.
    c.export(spool.append(1, batch('poison-run', [sample(6)], spool.loss)));
    expect(await c.forceFlush(10_000)).toBe(true);
    await c.shutdown();
    expect(collector.store.agentLoss(spool.agentId)).toEqual({ batches: 0, samples: 0, corrupt: 0, rejected: 2, quarantinedSamples: 2 });
    const metrics = await collector.telemetry.metricsText();
    expect(metrics).toContain(`stagewatch_collector_agent_spool_quarantined_batches{agent="${spool.agentId}",reason="rejected"} 2`);
  });

  it('quarantines a damaged file on disk as corrupt and sends the rest', async () => {
    const logs: string[] = [];
    const writer = Spool.open(tempDir(), 1 << 20, () => {}, 'damaged');
    for (let i = 1; i <= 4; i++) writer.append(1, batch('damaged-run', [sample(i)], writer.loss));
    const name = readdirSync(writer.dir).find((f) => f.startsWith('000000000003-')) as string;
    const bytes = readFileSync(path.join(writer.dir, name));
    bytes[20] = 0x20;
    writeFileSync(path.join(writer.dir, name), bytes);
    // The agent that wrote the batches sends them from memory; a restarted one reads the damaged file.
    const spool = Spool.open(writer.dir, 1 << 20, (m) => logs.push(m), 'damaged');
    const c = client(spool, 'damaged-run', logs);
    c.start();
    expect(await c.forceFlush(20_000)).toBe(true);
    await c.shutdown();
    expect(stored('damaged-run')).toEqual([1, 2, 4]);
    expect(spool.loss).toMatchObject({ corrupt: 1, rejected: 0, quarantinedSamples: 1 });
    expect(logs.join('\n')).toMatch(/seq 3 \(1 samples\) is damaged/);
  });

  it('stops blaming single batches when the collector refuses every one, and keeps them spooled', async () => {
    const spool = Spool.open(tempDir(), 1 << 20, () => {}, 'all-bad');
    for (let i = 1; i <= 8; i++) spool.append(1, batch('all-bad-run', [{ ...sample(i), m: { util_pct: NaN } }], spool.loss));
    const logs: string[] = [];
    const c = client(spool, 'all-bad-run', logs);
    c.start();
    await expect.poll(() => logs.some((l) => /refuses every batch/.test(l)), { timeout: 20_000, interval: 50 }).toBe(true);
    await c.shutdown();
    // At most the refusals in a row it allows were quarantined; the rest stay for a fixed collector.
    expect(spool.loss.rejected).toBeLessThanOrEqual(3);
    expect(spool.size.batches).toBeGreaterThanOrEqual(5);
  });
});
