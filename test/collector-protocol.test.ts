import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type Hello, type Sample } from '@stagewatch/shared';
import { startCollector, type Collector } from '../collector/src/server.js';
import { CollectorClient } from '../agent/src/transport/client.js';
import { Spool } from '../agent/src/transport/spool.js';
import { Batcher } from '../agent/src/pipeline/batcher.js';
import { tempDir } from './helpers/agent.js';
import { waitFor } from './helpers/processes.js';

const TOKEN = 'test-token-0123456789';
let collector: Collector;
let wsUrl: string;

beforeAll(async () => {
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [TOKEN], maxPayloadBytes: 64 * 1024, heartbeatMs: 300, log: () => {} });
  wsUrl = `ws://127.0.0.1:${collector.port}/agent`;
});
afterAll(async () => collector.close());

const hello = (agentId: string, runId: string | null = null): Hello => ({
  type: 'hello', protocol: PROTOCOL_VERSION, agentId, host: `host-${agentId}`, runId,
  gpus: [{ index: 0, uuid: 'GPU-0000', name: 'NVIDIA H100 80GB HBM3', memTotalMib: 81559 }],
  capabilities: { gpm: true, fields: ['utilization.gpu'] }, agentVersion: 'test',
});
const gpuSample = (host: string, t: number, util: number): Sample => ({ t, host, source: 'gpu', gpu: 0, m: { util_pct: util, power_w: 300.5 } });

interface RawResult { code: number; reason: string; messages: unknown[]; status?: number }

/** A raw WebSocket client: sends the frames, collects replies, resolves on close. */
function raw(frames: Array<string | Buffer>, opts: { token?: string | null; waitMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const token = opts.token === undefined ? TOKEN : opts.token;
    const ws = new WebSocket(wsUrl, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const messages: unknown[] = [];
    ws.on('unexpected-response', (_req, res) => resolve({ code: -1, reason: '', messages, status: res.statusCode }));
    ws.on('error', () => {});
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    ws.on('open', async () => {
      for (const f of frames) {
        ws.send(f, { binary: Buffer.isBuffer(f) });
        await sleep(30);
      }
      setTimeout(() => ws.close(1000), opts.waitMs ?? 300);
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), messages }));
  });
}

/** A well-behaved in-process agent: real spool, real client, samples at ~200 Hz. */
function goodAgent(id: string, runId: string) {
  const spool = Spool.open(tempDir(), 64 << 20, () => {}, id);
  const client = new CollectorClient({ url: `ws://127.0.0.1:${collector.port}`, token: TOKEN, hello: () => ({ ...hello(spool.agentId, runId), host: id }), spool, log: () => {}, heartbeatMs: 300 });
  const streamer = new Batcher(spool, client, { runId, batchMs: 50 });
  let n = 0;
  const timer = setInterval(() => streamer.add(gpuSample(id, Date.now(), n++ % 101)), 5);
  client.start();
  return {
    produced: () => streamer.produced,
    async stop() {
      clearInterval(timer);
      streamer.shutdown();
      const drained = await client.forceFlush(10_000);
      await client.shutdown();
      return { drained, produced: streamer.produced };
    },
  };
}

const storedCount = (runId: string): number => [...collector.store.samples(runId)].length;

describe('collector protocol', () => {
  it('stores a batch once however often it is sent, and acks every copy', async () => {
    const batch = JSON.stringify({ type: 'batch', seq: 1, runId: 'dup-run', samples: [gpuSample('host-dup', 1, 50)], health: [], clock: null, loss: { batches: 0, samples: 0 } });
    const first = await raw([JSON.stringify(hello('dup', 'dup-run')), batch, batch]);
    const again = await raw([JSON.stringify(hello('dup', 'dup-run')), batch]);
    expect(first.messages).toContainEqual({ type: 'welcome', protocol: 1, runId: 'dup-run', storedThrough: 0 });
    // Both copies acked (in one frame or two, as the group commit falls).
    expect(first.messages.flatMap((m) => ((m as { type: string }).type === 'ack' ? (m as { seqs: number[] }).seqs : []))).toEqual([1, 1]);
    expect(again.messages).toContainEqual({ type: 'welcome', protocol: 1, runId: 'dup-run', storedThrough: 1 });
    expect(again.messages).toContainEqual({ type: 'ack', seqs: [1] });
    expect(storedCount('dup-run')).toBe(1);
  });

  it('answers pings with its receive and send times', async () => {
    const r = await raw([JSON.stringify({ type: 'ping', id: 7, t0: 123 })]);
    expect(r.messages[0]).toMatchObject({ type: 'pong', id: 7, t0: 123, t1: expect.any(Number), t2: expect.any(Number) });
  });

  it('lines up samples from an agent whose clock is 5 s fast', async () => {
    const skew = 5000;
    const spool = Spool.open(tempDir(), 1 << 20, () => {}, 'skewed');
    const client = new CollectorClient({ url: `ws://127.0.0.1:${collector.port}`, token: TOKEN, hello: () => hello(spool.agentId, 'skew-run'), spool, log: () => {}, now: () => Date.now() + skew });
    const streamer = new Batcher(spool, client, { runId: 'skew-run', batchMs: 20 });
    client.start();
    await waitFor('a clock estimate', () => client.clock);
    const realT = Date.now();
    // The estimate the batch goes out with: this one, or one a pong refines before it is sent.
    const before = client.clock?.offsetMs;
    streamer.add(gpuSample('host-skewed', realT + skew, 1));
    streamer.flush();
    expect(await client.forceFlush(5000)).toBe(true);
    await client.shutdown();
    expect(client.clock?.offsetMs).toBeGreaterThan(skew - 50);
    expect(client.clock?.offsetMs).toBeLessThan(skew + 50);
    const [stored] = [...collector.store.samples('skew-run')];
    expect(Math.abs((stored?.t ?? 0) - realT)).toBeLessThan(50);
    const offsets = collector.store.agentClock(spool.agentId);
    const held = [before, client.clock?.offsetMs];
    expect(held.some((o) => Math.abs((offsets[0]?.offsetMs ?? NaN) - (o ?? NaN)) < 0.005), `stored ${offsets[0]?.offsetMs}, the client held ${held.join(' and ')}`).toBe(true);
  });
});

describe('bad input closes that connection with the right code; a concurrent agent loses nothing', () => {
  it('handles each bad input while a good agent streams', async () => {
    const good = goodAgent('good-agent', 'good-run');
    const okHello = JSON.stringify(hello('bad-client', 'bad-run'));
    const goodBatch = (seq: number) => JSON.stringify({ type: 'batch', seq, runId: 'bad-run', samples: [gpuSample('x', 1, 1)], health: [], clock: null, loss: { batches: 0, samples: 0 } });
    const cases: Array<[string, Array<string | Buffer>, number, RegExp, string]> = [
      ['invalid JSON', [okHello, '{"type":"batch",'], 1007, /^invalid JSON: /, 'invalid-json'],
      ['unknown type', [okHello, '{"type":"bogus"}'], 1008, /^unknown message type "bogus"$/, 'unknown-type'],
      ['schema violation', [okHello, JSON.stringify({ type: 'batch', seq: 1, runId: 'bad-run', samples: [{ t: 1, host: 'x', source: 'gpu', m: { util_pct: 'high' } }], health: [], clock: null, loss: { batches: 0, samples: 0 } })], 1008, /^invalid batch: samples\.0\.m\.util_pct: /, 'schema'],
      ['gpu sample without a gpu index', [okHello, JSON.stringify({ type: 'batch', seq: 1, runId: 'bad-run', samples: [{ t: 1, host: 'x', source: 'gpu', m: { util_pct: 1 } }], health: [], clock: null, loss: { batches: 0, samples: 0 } })], 1008, /^invalid batch: samples\.0\.gpu: gpu index is required/, 'schema'],
      ['batch before hello', [goodBatch(1)], 1008, /^batch before hello$/, 'protocol'],
      ['frame over maxPayload', [okHello, JSON.stringify({ type: 'batch', pad: 'x'.repeat(70 * 1024) })], 1009, /^frame exceeds maxPayload \(65536 bytes\)$/, 'too-big'],
      ['binary frame', [okHello, Buffer.from([1, 2, 3])], 1008, /binary frame is not a columnar batch frame/, 'binary'],
    ];
    for (const [name, frames, code, reason] of cases) {
      const r = await raw(frames);
      expect(r.code, name).toBe(code);
      expect(r.reason, name).toMatch(reason);
    }
    expect(storedCount('bad-run')).toBe(0);
    for (const token of [null, 'wrong-token-9876543210']) {
      const r = await raw([okHello], { token });
      expect(r.status, String(token)).toBe(401);
    }
    await waitFor('the good agent to produce', () => good.produced() > 100);
    const { drained, produced } = await good.stop();
    expect(drained).toBe(true);
    expect(produced).toBeGreaterThan(100);
    expect(storedCount('good-run')).toBe(produced);
    const metrics = await (await fetch(`http://127.0.0.1:${collector.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    for (const reason of ['invalid-json', 'unknown-type', 'schema', 'protocol', 'too-big', 'binary']) {
      expect(metrics, reason).toMatch(new RegExp(`stagewatch_collector_rejects_total\\{reason="${reason}"\\} [1-9]`));
    }
    expect(metrics).toMatch(/stagewatch_collector_auth_failures_total 2/);
  });

  it('refuses the API without the token and lists runs with it', async () => {
    const base = `http://127.0.0.1:${collector.port}`;
    expect((await fetch(`${base}/api/runs`)).status).toBe(401);
    const runs = (await (await fetch(`${base}/api/runs`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Array<{ id: string; hosts: string[]; startedAt: number; endedAt: number | null }>;
    expect(runs.find((r) => r.id === 'dup-run')).toMatchObject({ hosts: ['host-dup'], endedAt: null, startedAt: expect.any(Number) });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('heartbeats', () => {
  it('closes a connection that stops answering pings', async () => {
    const before = await (await fetch(`http://127.0.0.1:${collector.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const deadBefore = Number(/stagewatch_collector_dead_connections_total (\d+)/.exec(before)?.[1]);
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${TOKEN}` }, autoPong: false });
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('open', () => ws.send(JSON.stringify(hello('silent', 'silent-run'))));
    // Heartbeats run every 300 ms here: a dead peer goes within two intervals.
    expect(await closed).toBe(1006);
    const after = await (await fetch(`http://127.0.0.1:${collector.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(Number(/stagewatch_collector_dead_connections_total (\d+)/.exec(after)?.[1])).toBe(deadBefore + 1);
  });
});

describe('many agents', () => {
  it('stores every sample of 50 concurrent agents exactly once', async () => {
    const agents = Array.from({ length: 50 }, (_, i) => goodAgent(`many-${i}`, 'many-run'));
    // Until each has produced 100 samples, however busy the machine is.
    await waitFor('100 samples from each agent', () => agents.every((a) => a.produced() > 100), 60_000);
    const results = await Promise.all(agents.map((a) => a.stop()));
    expect(results.every((r) => r.drained)).toBe(true);
    const produced = results.reduce((a, r) => a + r.produced, 0);
    expect(produced).toBeGreaterThan(50 * 100);
    expect(storedCount('many-run')).toBe(produced);
    expect(new Set([...collector.store.samples('many-run')].map((s) => s.host)).size).toBe(50);
  });
});
