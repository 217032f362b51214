import net from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '@stagewatch/shared';
import { startCollector } from '../collector/src/server.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { tempDir } from './helpers/agent.js';
import { waitFor } from './helpers/processes.js';

const hello = (agentId: string) => JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agentId, host: 'life-host', runId: 'life-run', gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 'test' });
const batch = (seq: number) => JSON.stringify({ type: 'batch', seq, runId: 'life-run', samples: [{ t: 1_700_000_000_000 + seq, host: 'life-host', source: 'host', m: { cpu_pct: seq } }], health: [], marks: [], clock: null, loss: { batches: 0, samples: 0 } });

/** A WebSocket upgrade done by hand on a raw socket that then never answers anything. */
async function deafWebSocket(port: number): Promise<net.Socket> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET /agent HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise<void>((resolve) => sock.once('data', (d) => (String(d).startsWith('HTTP/1.1 101') ? resolve() : sock.destroy())));
  sock.on('error', () => {});
  return sock;
}

async function upgradeStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`);
    ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('error', () => resolve(-1));
  });
}

describe('collector lifecycle', () => {
  it('refuses new work with 503 while closing, waits for peers up to its grace, and closes once', async () => {
    const c = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: () => {}, closeGraceMs: 1500 });
    const deaf = await deafWebSocket(c.port);
    const live = new WebSocket(`ws://127.0.0.1:${c.port}/live?host=life-host`);
    await new Promise((r) => live.once('open', r));
    const liveClosed = new Promise<number>((r) => live.once('close', (code) => r(code)));
    expect(c.phase).toBe('open');
    const first = c.close();
    const second = c.close();
    expect(second).toBe(first);
    expect(c.phase).toBe('closing');
    // The deaf peer holds the close for up to the grace: new upgrades and requests are refused meanwhile.
    expect(await upgradeStatus(c.port)).toBe(503);
    const res = await fetch(`http://127.0.0.1:${c.port}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'collector shutting down' });
    expect(await liveClosed).toBe(1001);
    await first;
    expect(c.phase).toBe('closed');
    expect(deaf.destroyed || deaf.readableEnded).toBe(true);
    await c.close();
  });

  it('commits and acks every batch it received before its sockets close: stored equals acked', async () => {
    const dataDir = tempDir();
    const c = await startCollector({ host: '127.0.0.1', port: 0, dataDir, tokens: [], log: () => {} });
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}/agent`);
    const acked = new Set<number>();
    let welcomed = false;
    let closing: Promise<void> | null = null;
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; seqs?: number[] };
      if (m.type === 'welcome') welcomed = true;
      for (const s of m.seqs ?? []) acked.add(s);
      // Close at the first ack: batches are arriving, some committed, some queued, some unread.
      if (acked.size > 0) closing ??= c.close();
    });
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    await new Promise((r) => ws.once('open', r));
    ws.send(hello('life-agent'));
    await waitFor('welcome', () => welcomed);
    for (let seq = 1; seq <= 2000; seq++) ws.send(batch(seq));
    expect(await closed).toBe(1001);
    await closing;
    const store = new SqliteStore(dataDir);
    const stored = store.storedBatches('life-agent').map((b) => b.seq);
    store.close();
    expect(stored.length).toBeGreaterThan(0);
    expect([...acked].sort((a, b) => a - b)).toEqual(stored);
  });
});
