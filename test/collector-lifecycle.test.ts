import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '@stagewatch/shared';
import { startCollector } from '../collector/src/server.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { tempDir } from './helpers/agent.js';
import { COLLECTOR_BIN, startAgentDaemon, startCollectorProc, waitFor, type AgentProc, type CollectorProc } from './helpers/processes.js';

const running: Array<AgentProc | CollectorProc> = [];
afterEach(() => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});

const collector = (args: string[], cwd?: string) => execa(process.execPath, [COLLECTOR_BIN, ...args], { reject: false, timeout: 15_000, ...(cwd ? { cwd } : {}) });

describe('collector: listen errors end the process', () => {
  it('exits 1 naming the address and the cause when the port is taken (EADDRINUSE)', async () => {
    const first = await startCollectorProc(tempDir());
    running.push(first);
    const r = await collector(['serve', '--port', String(first.port), '--data', tempDir()]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}: the port is in use .*\\(EADDRINUSE\\)`));
    expect(r.timedOut).toBe(false);
  });

  it('exits 1 for an address this machine does not have (EADDRNOTAVAIL)', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned, so the bind fails without any traffic.
    const r = await collector(['serve', '--host', '192.0.2.1', '--token', 'a-token-for-the-test', '--port', '0', '--data', tempDir()]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot listen on 192\.0\.2\.1:0: no interface on this machine has that address; check --host \(EADDRNOTAVAIL\)/);
  });
});

describe('collector: one per data directory', () => {
  it('refuses a second collector on a held directory, naming the holder; a SIGKILLed holder does not block the next start', async () => {
    const data = tempDir();
    const first = await startCollectorProc(data);
    running.push(first);
    const second = await collector(['serve', '--port', '0', '--data', data]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`data directory ${data} is in use by another collector \\(pid ${first.proc.pid} on .+ since .+\\); stop it or give another --data`));
    first.proc.kill('SIGKILL');
    await first.proc;
    const third = await startCollectorProc(data);
    running.push(third);
    expect(third.stderr()).toMatch(/listening on/);
    third.proc.kill('SIGTERM');
    expect((await third.proc).exitCode).toBe(0);
    expect(existsSync(path.join(data, 'collector.pid'))).toBe(false);
  });
});

describe('collector: config file and JSON logs', () => {
  it('takes its settings from --config, flags overriding, and logs JSON lines with levels', async () => {
    const dir = tempDir();
    const data = tempDir();
    const cfg = path.join(dir, 'collector.yaml');
    writeFileSync(cfg, `data: ${data}\nport: 1\nheartbeat-ms: 500\nlog-format: json\n`);
    const col = await startCollectorProc(path.join(dir, 'overridden-by-config?'), 0, ['--config', cfg, '--data', data]);
    running.push(col);
    const lines = col.stderr().trim().split('\n').map((l) => JSON.parse(l) as { level: string; tool: string; msg: string; time: string });
    expect(lines.at(-1)).toMatchObject({ level: 'info', tool: 'stagewatch-collector', msg: expect.stringMatching(`data in ${data}`) });
    expect(Number.isNaN(Date.parse(lines.at(-1)?.time ?? ''))).toBe(false);
  });

  it.each([
    ['port: [1]\n', /--config .*: port: expected text or a number/],
    ['prot: 7711\n', /--config .*: unknown key "prot" \(known: .*port.*\)/],
    ['port: 99999\n', /--port must be an integer from 0 to 65535 \(got "99999"\)/],
    ['log-format: xml\n', /--log-format must be one of text, json \(got "xml"\)/],
  ])('a bad config (%j) exits 2 with what is wrong', async (text, message) => {
    const cfg = path.join(tempDir(), 'c.yaml');
    writeFileSync(cfg, text);
    const r = await collector(['serve', '--config', cfg, '--data', tempDir()]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('report names its store and never creates one', () => {
  it('a missing store is an error naming the path; nothing is created', async () => {
    const cwd = tempDir();
    const r = await collector(['report', 'some-run'], cwd);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`no store at ${path.join(cwd, 'stagewatch-data', 'stagewatch.sqlite')} (give --data DIR`);
    expect(existsSync(path.join(cwd, 'stagewatch-data'))).toBe(false);
  });

  it('an unknown run names the store and the runs in it; an empty timeline says it has no stages', async () => {
    const data = tempDir();
    const col = await startCollectorProc(data);
    running.push(col);
    const agent = startAgentDaemon(col.url, tempDir(), ['--host', 'quiet-host', '--drain-s', '2']);
    running.push(agent);
    await waitFor('the timeline stored', async () => ((await (await fetch(`${col.url}/api/runs`)).json()) as unknown[]).length > 0);
    await agent.stop();
    const missing = await collector(['report', 'nope', '--data', data]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`no run "nope" in the store ${path.join(data, 'stagewatch.sqlite')}; runs there: timeline:quiet-host`);
    const timeline = await collector(['report', 'timeline:quiet-host', '--data', data]);
    expect(timeline.exitCode).toBe(0);
    expect(timeline.stdout).toMatch(/run timeline:quiet-host has no stages \(it is a host timeline/);
    expect(timeline.stderr).toContain(`run timeline:quiet-host from ${path.join(data, 'stagewatch.sqlite')}: run timeline:quiet-host has no stages`);
  });
});

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
