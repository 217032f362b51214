import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { COLUMNAR, encodeBatchFrame, FRAMES_HEADER, PROTOCOL_VERSION, type Hello, type Sample } from '@stagewatch/shared';
import { CollectorClient } from '../agent/src/transport/client.js';
import { Spool } from '../agent/src/transport/spool.js';
import { Batcher } from '../agent/src/pipeline/batcher.js';
import { startCollector, type Collector } from '../collector/src/server.js';
import { tempDir } from './helpers/agent.js';
import { waitFor } from './helpers/processes.js';

let collector: Collector;
let url: string;
beforeAll(async () => {
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: () => {} });
  url = `ws://127.0.0.1:${collector.port}/agent`;
});
afterAll(async () => collector.close());

const hello = (agentId: string, runId: string): Hello => ({
  type: 'hello', protocol: PROTOCOL_VERSION, agentId, host: `host-${agentId}`, runId,
  gpus: [{ index: 0, uuid: 'GPU-0000', name: 'NVIDIA H100 80GB HBM3', memTotalMib: 81559 }],
  capabilities: { gpm: true, fields: [] }, agentVersion: 'test',
});
const loss = { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 };
const batchOf = (seq: number, runId: string, samples: Sample[], extra: Record<string, unknown> = {}) => ({ type: 'batch', seq, runId, clock: null, loss, health: [], marks: [], samples, ...extra });

/** Sends the frames on one connection; the replies, close code, reason and the upgrade's frames header. */
function send(frames: Array<string | Uint8Array>): Promise<{ code: number; reason: string; messages: Array<{ type: string; seqs?: number[] }>; frames: string | undefined }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const messages: Array<{ type: string; seqs?: number[] }> = [];
    let header: string | undefined;
    ws.on('upgrade', (res) => (header = res.headers[FRAMES_HEADER] as string | undefined));
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    ws.on('open', async () => {
      for (const f of frames) {
        ws.send(f, { binary: typeof f !== 'string' });
        await sleep(30);
      }
      setTimeout(() => ws.close(1000), 300);
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), messages, frames: header }));
  });
}

describe('columnar batch frames', () => {
  it('are advertised at the upgrade, stored once however often sent, and read back as the samples sent', async () => {
    const t = Date.now() - 10_000;
    const samples: Sample[] = [];
    for (let i = 0; i < 30; i++) {
      for (let g = 0; g < 2; g++) samples.push({ t: t + i * 100, host: 'h', source: 'gpu', gpu: g, dur_ms: 100, m: { util_pct: (i * 7) % 101, power_w: 300.25 + i / 4 } });
      samples.push({ t: t + i * 100 + 3, host: 'h', source: 'proc', pid: 77, m: { cpu_cores: i / 10 } });
    }
    const frame = encodeBatchFrame(batchOf(1, 'col-run', samples, { marks: [{ kind: 'begin', stage: 'denoise', t: t + 50, source: 'http' }] }));
    const r = await send([JSON.stringify(hello('col', 'col-run')), frame, frame]);
    expect(r.frames).toBe(COLUMNAR);
    expect(r.messages.flatMap((m) => m.seqs ?? [])).toEqual([1, 1]);
    const stored = [...collector.store.samples('col-run')];
    const want = [...samples].sort((a, b) => a.t - b.t).map((s) => ({ ...s, host: 'host-col' }));
    expect(stored).toEqual(want);
    expect(collector.store.marks('col-run').map((m) => m.stage)).toEqual(['denoise']);
    expect(collector.store.storedBatches(`col`)).toEqual([{ seq: 1, samples: 90 }]);
  });

  it('are refused with 1008 naming the header field or the block and rule', async () => {
    const s = (t: number): Sample => ({ t, host: 'h', source: 'gpu', gpu: 0, m: { util_pct: 1 } });
    const badHeader = encodeBatchFrame(batchOf(0, 'col-bad', [s(Date.now())]));
    expect(await send([JSON.stringify(hello('col-bad', 'col-bad')), badHeader])).toMatchObject({ code: 1008, reason: expect.stringMatching(/^invalid batch: seq: /) });
    const frame = encodeBatchFrame(batchOf(1, 'col-bad', [s(Date.now()), s(Date.now() + 100)]));
    // The last byte of the frame is the util column's last token; a truncated frame is refused by block.
    expect(await send([JSON.stringify(hello('col-bad', 'col-bad')), frame.subarray(0, frame.length - 1)])).toMatchObject({ code: 1008, reason: expect.stringMatching(/^invalid batch: blocks\.0: /) });
    const ahead = encodeBatchFrame(batchOf(1, 'col-bad', [s(Date.now() + 48 * 3600_000)]));
    expect(await send([JSON.stringify(hello('col-bad', 'col-bad')), ahead])).toMatchObject({ code: 1008, reason: expect.stringMatching(/^blocks\.0\.t is 48 h ahead/) });
    expect([...collector.store.samples('col-bad')]).toEqual([]);
  });
});

describe('the agent\'s client', () => {
  /** A stand-in collector that records the kind of each batch frame, advertising columnar frames or not. */
  async function standIn(advertise: boolean): Promise<{ url: string; kinds: string[]; close(): Promise<void> }> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    if (advertise) wss.on('headers', (h) => h.push(`${FRAMES_HEADER}: ${COLUMNAR}`));
    const kinds: string[] = [];
    wss.on('connection', (ws) =>
      ws.on('message', (d, binary) => {
        if (!binary && (JSON.parse(String(d)) as { type: string }).type === 'hello') return ws.send(JSON.stringify({ type: 'welcome', protocol: 1, runId: 'r', storedThrough: 0 }));
        if (!binary && (JSON.parse(String(d)) as { type: string }).type !== 'batch') return;
        kinds.push(binary ? 'columnar' : 'json');
        ws.send(JSON.stringify({ type: 'ack', seqs: [kinds.length] }));
      }),
    );
    await new Promise((r) => wss.on('listening', r));
    return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, kinds, close: () => new Promise((r) => wss.close(() => r())) };
  }

  it.each([
    [true, 'columnar', 'columnar'],
    [false, 'columnar', 'json'],
    [true, undefined, 'json'],
  ] as const)('sends batches to a collector that advertises columnar frames: %s, with frames %s, as %s', async (advertise, frames, kind) => {
    const c = await standIn(advertise);
    const spool = Spool.open(tempDir(), 1 << 20, () => {}, 'frames');
    const client = new CollectorClient({ url: c.url, hello: () => hello(spool.agentId, 'r'), spool, log: () => {}, ...(frames ? { frames } : {}) });
    const batcher = new Batcher(spool, client, { runId: 'r', batchMs: 10_000 });
    for (let i = 0; i < 3; i++) {
      batcher.add({ t: Date.now(), host: 'h', source: 'gpu', gpu: 0, m: { util_pct: i } });
      batcher.flush();
    }
    client.start();
    await waitFor('three batches', () => c.kinds.length === 3);
    expect(c.kinds).toEqual([kind, kind, kind]);
    await client.shutdown();
    await c.close();
  });
});
