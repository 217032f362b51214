import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCollector, type Collector } from '../../collector/src/server.js';
import { tempDir } from '../helpers/agent.js';
import { waitFor } from '../helpers/processes.js';
import { figure, goodAgent, range, session, storedCounters, TOKEN, type GoodAgent } from './harness.js';

let collector: Collector;
let good: GoodAgent;
const logs: string[] = [];
beforeAll(async () => {
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [TOKEN], log: (m) => logs.push(m) });
  good = goodAgent(collector.url, 'auth-good', 'auth-good-run');
});
afterAll(async () => collector.close());

const WRONG = 'wrong-token-9876543210';
/** Every way a token can be presented, and whether it should get in. */
const PRESENTED: Array<[string, (path: string) => { path: string; headers: Record<string, string> }, boolean]> = [
  ['no token', (p) => ({ path: p, headers: {} }), false],
  ['wrong bearer', (p) => ({ path: p, headers: { authorization: `Bearer ${WRONG}` } }), false],
  ['right token, Basic scheme', (p) => ({ path: p, headers: { authorization: `Basic ${TOKEN}` } }), false],
  ['empty bearer', (p) => ({ path: p, headers: { authorization: 'Bearer ' } }), false],
  ['wrong token in the query', (p) => ({ path: `${p}${p.includes('?') ? '&' : '?'}token=${WRONG}`, headers: {} }), false],
  ['token prefix in the query', (p) => ({ path: `${p}${p.includes('?') ? '&' : '?'}token=${TOKEN.slice(0, -1)}`, headers: {} }), false],
  ['right bearer', (p) => ({ path: p, headers: { authorization: `Bearer ${TOKEN}` } }), true],
  ['right token in the query', (p) => ({ path: `${p}${p.includes('?') ? '&' : '?'}token=${TOKEN}`, headers: {} }), true],
];

// Paths that carry data need the token; the health check and the UI shell (no data) do not.
const HTTP_PATHS: Array<[string, 'token' | 'public']> = [
  ['/api/runs', 'token'],
  ['/api/hosts', 'token'],
  ['/api/runs/auth-good-run/report', 'token'],
  ['/api/runs/auth-good-run/report?format=html', 'token'],
  ['/api/runs/auth-good-run/series?host=auth-good', 'token'],
  ['/api/compare?baseline=auth-good-run&runs=auth-good-run', 'token'],
  ['/metrics', 'token'],
  ['/healthz', 'public'],
  ['/', 'public'],
  ['/index.html', 'public'],
  ['/assets/app.js', 'public'],
  ['/assets/app.css', 'public'],
];

function upgrade(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${collector.port}${path}`, { headers });
    ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.on('error', () => resolve(-1));
  });
}

describe('adversarial: auth on every path', () => {
  it('refuses every HTTP path that carries data without the right token, in every form it can be presented', async () => {
    let tried = 0;
    for (const [p, policy] of HTTP_PATHS) {
      for (const [how, present, ok] of PRESENTED) {
        const { path, headers } = present(p);
        const res = await fetch(`http://127.0.0.1:${collector.port}${path}`, { headers });
        const body = await res.text();
        tried++;
        if (policy === 'public' || ok) expect(res.status, `${how} ${path}`).toBe(200);
        else {
          expect(res.status, `${how} ${path}`).toBe(401);
          expect(JSON.parse(body), `${how} ${path}`).toEqual({ error: 'missing or wrong token' });
        }
      }
    }
    figure('auth: HTTP requests tried (paths x ways to present a token)', tried);
  });

  it('refuses /agent and /live upgrades without the right token, before any WebSocket exists', async () => {
    let tried = 0;
    for (const p of ['/agent', '/live?host=auth-good']) {
      for (const [how, present, ok] of PRESENTED) {
        const { path, headers } = present(p);
        tried++;
        expect(await upgrade(path, headers), `${how} ${path}`).toBe(ok ? 101 : 401);
      }
    }
    // A refused upgrade never reaches the protocol: a hello sent on it goes nowhere.
    expect((await session(collector.url, [], { headers: {} })).status).toBe(401);
    figure('auth: WebSocket upgrades tried', tried);
  });

  it('never writes a token, right or wrong, into its log; counts refusals; the good agent lost nothing', async () => {
    await waitFor('the good agent to stream a while', () => good.produced() >= 20);
    const { drained, samples } = await good.stop();
    expect(drained).toBe(true);
    expect(storedCounters(collector.store.samples('auth-good-run'), 'auth-good')).toEqual(range(samples.length));
    const text = logs.join('\n');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(TOKEN.slice(0, -1));
    expect(text).not.toContain(WRONG);
    const metrics = await (await fetch(`http://127.0.0.1:${collector.port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const refusedUpgrades = Number(/^stagewatch_collector_auth_failures_total (\d+)/m.exec(metrics)?.[1]);
    expect(refusedUpgrades).toBe(2 * PRESENTED.filter(([, , ok]) => !ok).length + 1);
    figure('auth: good agent samples stored exactly once', samples.length);
  });
});
