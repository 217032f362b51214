import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { tempDir } from '../helpers/agent.js';
import { ROOT } from '../helpers/fixtures.js';
import { auth, collectorProcess, figure, goodAgent, helloFrame, percentiles, range, storedCounters, TOKEN, withStore, type CollectorProcess } from './harness.js';

let col: CollectorProcess | undefined;
afterAll(() => void col?.proc.kill('SIGKILL'));

const FLOOD_BATCHES = 40;
const PER_BATCH = 5000;

/** Ping round trips on another agent's connection while the flood runs. */
async function pinger(url: string): Promise<{ rtts: number[]; stop: () => void }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/agent`, { headers: auth });
  await new Promise((r) => ws.once('open', r));
  const rtts: number[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { type: string; t0?: number };
    if (m.type === 'pong') rtts.push(performance.now() - (m.t0 as number));
  });
  ws.send(helloFrame('pinger', 'ping-host', null));
  let id = 0;
  const timer = setInterval(() => ws.send(JSON.stringify({ type: 'ping', id: ++id, t0: performance.now() })), 50);
  return { rtts, stop: () => (clearInterval(timer), ws.close()) };
}

describe('adversarial: one agent floods', () => {
  it('keeps /healthz and the other agents answering, and stores the others exactly once', async () => {
    col = await collectorProcess(tempDir());
    const goods = range(2).map((i) => goodAgent(col!.url, `flood-good-${i}`, 'flood-good-run', { hz: 20 }));
    const ping = await pinger(col.url);
    const flooder = execa(process.execPath, [path.join(ROOT, 'test/adversarial/flooder.mjs'), col.url.replace(/^http/, 'ws'), TOKEN, String(FLOOD_BATCHES), String(PER_BATCH)], { reject: false, timeout: 120_000 });
    const health: number[] = [];
    let floodDone = false;
    void flooder.then(() => (floodDone = true));
    // Bounded: the flood takes its time; the probe ends with it or after 2,000 requests.
    for (let i = 0; i < 2000 && !floodDone; i++) {
      const t0 = performance.now();
      expect((await fetch(`${col.url}/healthz`)).status).toBe(200);
      health.push(performance.now() - t0);
      await sleep(20);
    }
    const flooded = await flooder;
    expect(flooded.stdout).toBe(`acked ${FLOOD_BATCHES}`);
    ping.stop();
    const results = await Promise.all(goods.map((g) => g.stop()));
    const peak = col.memory().peakMiB;
    await col.stop();
    const stored = withStore(col.dataDir, (s) => ({
      flood: [...s.samples('flood-run')].length,
      good: range(2).map((i) => storedCounters(s.samples('flood-good-run'), `flood-good-${i}`)),
    }));
    expect(stored.flood).toBe(FLOOD_BATCHES * PER_BATCH);
    results.forEach((r, i) => {
      expect(r.drained).toBe(true);
      expect(stored.good[i]).toEqual(range(r.samples.length));
    });
    expect(ping.rtts.length).toBeGreaterThan(0);
    const h = percentiles(health);
    const p = percentiles(ping.rtts);
    figure('flood: samples one agent pushed as fast as it could, all stored', FLOOD_BATCHES * PER_BATCH);
    figure('flood: /healthz latency during the flood, p50/p99/max ms', `${h.p50}/${h.p99}/${h.max} (${health.length} requests)`);
    figure('flood: ping round trip of another agent during the flood, p50/p99/max ms', `${p.p50}/${p.p99}/${p.max} (${ping.rtts.length} pings)`);
    figure('flood: good agents samples stored exactly once', results.reduce((n, r) => n + r.samples.length, 0));
    figure('flood: collector peak RSS, MiB', peak);
  });
});
