import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { tempDir } from '../helpers/agent.js';
import { waitFor } from '../helpers/processes.js';
import { auth, collectorProcess, figure, goodAgent, percentiles, range, storedCounters, TOKEN, withStore, type CollectorProcess, type GoodAgent } from './harness.js';

let col: CollectorProcess;
let good: GoodAgent;
let baselineMiB: number;
beforeAll(async () => {
  col = await collectorProcess(tempDir(), ['--hello-timeout-ms', '1500']);
  good = goodAgent(col.url, 'http-good', 'http-good-run', { hz: 50 });
  await waitFor('the good agent to stream', () => good.produced() > 20);
  baselineMiB = col.memory().rssMiB;
  figure('http: collector RSS at start, MiB', baselineMiB);
});
afterAll(async () => {
  await good?.stop(1000).catch(() => {});
  col?.proc.kill('SIGKILL');
});

/** One request written byte for byte (no client normalises the path), and the status line back. */
function rawGet(port: number, target: string, headers = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => (data += d.toString('latin1')));
    // The server may answer (431) and reset the connection while the request is still going out.
    sock.on('error', () => {});
    sock.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), body: data.slice(data.indexOf('\r\n\r\n') + 4) }));
    sock.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);
  });
}

const TRAVERSALS = [
  '/../../../../etc/passwd',
  '/assets/../../../../etc/passwd',
  '/assets/..%2f..%2f..%2f..%2fetc%2fpasswd',
  '/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/assets/..%252f..%252f..%252fetc%252fpasswd',
  '/assets/..%5c..%5c..%5cetc%5cpasswd',
  '/assets/..\\..\\..\\etc\\passwd',
  '/assets/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
  '/assets/%uff0e%uff0e/etc/passwd',
  '/index.html%00.js',
  '//etc/passwd',
  '/assets/app.js/../../../../../etc/passwd',
  '/api/runs/..%2f..%2f..%2fetc%2fpasswd/report',
  '/api/runs/%c0%ae%c0%ae%2fetc%2fpasswd/report',
  '/api/runs/%/report',
  '/api/runs/%00/series?host=x',
  '/api/runs/http-good-run/report?format=../../etc/passwd',
];
// A ../ in a query value names no file: a host that streams nothing there gets an empty series.
const IN_QUERY = ['/api/runs/http-good-run/series?host=../../../etc/passwd', '/api/runs/http-good-run/series?host=%2e%2e%2f%2e%2e%2fetc%2fpasswd'];

describe('adversarial: HTTP', () => {
  it('serves no file outside its own for any encoding of ../, and never fails with a 500', async () => {
    const seen = new Map<number, number>();
    for (const t of TRAVERSALS) {
      for (const headers of ['', `Authorization: Bearer ${TOKEN}\r\n`]) {
        const r = await rawGet(col.port, t, headers);
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        expect([400, 401, 404], `${t} ${headers ? 'with' : 'without'} token`).toContain(r.status);
        expect(r.body, t).not.toMatch(/root:.*:0:0:/);
      }
    }
    for (const t of IN_QUERY) {
      const r = await rawGet(col.port, t, `Authorization: Bearer ${TOKEN}\r\n`);
      expect(r.status, t).toBe(200);
      expect(r.body, t).not.toMatch(/root:.*:0:0:/);
      expect(r.body, t).toContain('"t":[],"series":{}');
    }
    expect(col.stderr()).not.toMatch(/failed: /);
    figure('http: path traversal requests tried (none served a file, none 500)', TRAVERSALS.length * 2 + IN_QUERY.length);
    figure('http: traversal statuses', [...seen].map(([s, n]) => `${s}x${n}`).join(' '));
  });

  it('answers over-long URLs and headers with 404 or 431 and keeps serving', async () => {
    expect((await rawGet(col.port, `/${'a'.repeat(8 * 1024)}`)).status).toBe(404);
    expect((await rawGet(col.port, `/api/runs/${'a'.repeat(8 * 1024)}/report`, `Authorization: Bearer ${TOKEN}\r\n`)).status).toBe(404);
    expect((await rawGet(col.port, `/${'a'.repeat(100 * 1024)}`)).status).toBe(431);
    expect((await rawGet(col.port, `/healthz?${'a'.repeat(1024 * 1024)}`)).status).toBe(431);
    expect((await rawGet(col.port, '/healthz', `X-Big: ${'b'.repeat(64 * 1024)}\r\n`)).status).toBe(431);
    expect((await fetch(`${col.url}/healthz`)).status).toBe(200);
  });

  it('stays responsive with 200 slow half-open connections, 500 WebSockets that never say hello and 20 /live readers that never read; memory stays bounded', async () => {
    // 200 clients trickle a request's headers in, a byte now and then, and never finish.
    const slow: net.Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const s = net.connect(col.port, '127.0.0.1');
      s.on('error', () => {});
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      slow.push(s);
    }
    const drip = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write('X');
    }, 500);
    // 500 authenticated WebSockets that never send a hello.
    const silent = await Promise.all(
      range(500).map(
        () =>
          new Promise<{ closed: Promise<number> }>((resolve) => {
            const ws = new WebSocket(`ws://127.0.0.1:${col.port}/agent`, { headers: auth });
            const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
            ws.on('error', () => {});
            ws.on('open', () => resolve({ closed }));
            ws.on('unexpected-response', () => resolve({ closed: Promise.resolve(-1) }));
          }),
      ),
    );
    // 20 browsers that subscribe to the busy host and never read a byte.
    const readers = range(20).map(() => {
      const ws = new WebSocket(`ws://127.0.0.1:${col.port}/live?host=http-good`, { headers: auth });
      ws.on('error', () => {});
      ws.on('open', () => ws.pause());
      return ws;
    });
    // Meanwhile /healthz keeps answering (timed, never asserted on).
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      expect((await fetch(`${col.url}/healthz`)).status).toBe(200);
      latencies.push(performance.now() - t0);
      await sleep(50);
    }
    const codes = await Promise.all(silent.map((s) => s.closed));
    expect(codes.filter((c) => c === 1008)).toHaveLength(500);
    expect(col.stderr()).toMatch(/no hello within 1500 ms/);
    // The slow clients are cut off by the headers timeout (10 s), never served.
    await waitFor('slow connections closed', () => slow.every((s) => s.destroyed || s.readableEnded), 20_000);
    clearInterval(drip);
    const { rssMiB, peakMiB } = col.memory();
    for (const r of readers) r.terminate();
    const p = percentiles(latencies);
    figure('http: /healthz latency under 200 slowloris + 500 silent WebSockets + 20 stuck readers, p50/p99 ms', `${p.p50}/${p.p99}`);
    figure('http: collector peak RSS during the attack, MiB', peakMiB);
    figure('http: collector RSS after it, MiB', rssMiB);
    // Bounded: some tens of MiB over its start for 720 hostile connections, not growth without end.
    expect(peakMiB - baselineMiB).toBeLessThan(200);
  });

  it('the good agent streaming throughout stored each sample exactly once', async () => {
    const { drained, samples } = await good.stop();
    expect(drained).toBe(true);
    await col.stop();
    expect(withStore(col.dataDir, (s) => storedCounters(s.samples('http-good-run'), 'http-good'))).toEqual(range(samples.length));
    figure('http: good agent samples stored exactly once', samples.length);
  });
});
