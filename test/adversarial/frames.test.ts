import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type Collector } from '../../collector/src/server.js';
import { tempDir } from '../helpers/agent.js';
import { waitFor } from '../helpers/processes.js';
import { auth, batchFrame, figure, goodAgent, helloFrame, range, session, storedCounters, TOKEN, type GoodAgent } from './harness.js';

let collector: Collector;
let good: GoodAgent;
beforeAll(async () => {
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [TOKEN], maxPayloadBytes: 64 * 1024, helloTimeoutMs: 1000, log: () => {} });
  good = goodAgent(collector.url, 'frames-good', 'frames-good-run');
});
afterAll(async () => collector.close());

const NOW = Date.now();
const sample = (host: string, t = NOW, m: Record<string, number> = { util_pct: 1 }) => ({ t, host, source: 'gpu', gpu: 0, m });
const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
let n = 0;
/** A hello from a fresh agent id, so every case is its own agent. */
const hello = () => helloFrame(`frames-bad-${++n}`, 'frames-bad-host', 'frames-bad-run');

// [case, frames, close code, close reason, reject counter reason]
const REFUSED: Array<[string, Array<string | Buffer>, number, RegExp, string]> = [
  ['invalid JSON', [hello(), '{"type":"batch",'], 1007, /^invalid JSON: /, 'invalid-json'],
  ['NaN literal', [hello(), '{"type":"ping","id":1,"t0":NaN}'], 1007, /^invalid JSON: /, 'invalid-json'],
  ['Infinity (1e999)', [hello(), '{"type":"ping","id":1,"t0":1e999}'], 1008, /^invalid ping: t0: /, 'schema'],
  ['wrong schema (no loss)', [hello(), JSON.stringify({ type: 'batch', seq: 1, runId: null, samples: [], clock: null })], 1008, /^invalid batch: loss: /, 'schema'],
  ['unknown type', [hello(), '{"type":"bogus"}'], 1008, /^unknown message type "bogus"$/, 'unknown-type'],
  ['type nested 30,000 deep', [hello(), `{"type":${nested(30_000)}}`], 1008, /^unknown message type \(an array\)$/, 'unknown-type'],
  ['samples nested 30,000 deep', [hello(), `{"type":"batch","seq":1,"runId":null,"samples":${nested(30_000)},"clock":null,"loss":{"batches":0,"samples":0}}`], 1008, /^invalid batch: samples\.0: /, 'schema'],
  ['binary frame', [hello(), Buffer.from([0x7b, 0x7d])], 1008, /binary frame is not a columnar batch frame/, 'binary'],
  ['oversized frame', [hello(), batchFrame(1, null, [sample('x')], { pad: 'x'.repeat(70 * 1024) })], 1009, /^frame exceeds maxPayload \(65536 bytes\)$/, 'too-big'],
  ['negative seq', [hello(), batchFrame(-1, 'frames-bad-run', [])], 1008, /^invalid batch: seq: /, 'schema'],
  ['seq 0', [hello(), batchFrame(0, 'frames-bad-run', [])], 1008, /^invalid batch: seq: /, 'schema'],
  ['fractional seq', [hello(), batchFrame(1.5, 'frames-bad-run', [])], 1008, /^invalid batch: seq: /, 'schema'],
  ['seq 2^53 (not a safe integer)', [hello(), batchFrame(2 ** 53, 'frames-bad-run', [])], 1008, /^invalid batch: seq: /, 'schema'],
  ['seq 1e308', [hello(), batchFrame(1e308, 'frames-bad-run', [])], 1008, /^invalid batch: seq: /, 'schema'],
  ['sample 48 h in the future', [hello(), batchFrame(1, 'frames-bad-run', [sample('frames-bad-host', NOW + 48 * 3600_000)])], 1008, /^samples\.0\.t is 48 h ahead of the collector's clock/, 'time'],
  ['mark 10 years in the future', [hello(), batchFrame(1, 'frames-bad-run', [], { marks: [{ t: NOW + 3650 * 86400_000, kind: 'begin', stage: 'x', source: 'http' }] })], 1008, /^marks\.0\.t is \d+ h ahead/, 'time'],
  ['negative time', [hello(), batchFrame(1, 'frames-bad-run', [sample('frames-bad-host', -5)])], 1008, /^invalid batch: samples\.0\.t: /, 'schema'],
  ['batch before hello', [batchFrame(1, 'frames-bad-run', [sample('x')])], 1008, /^batch before hello$/, 'protocol'],
  ['second hello', [hello(), hello()], 1008, /^second hello on one connection$/, 'protocol'],
  ['protocol 99', [helloFrame('frames-p99', 'h', null, { protocol: 99 })], 1008, /^protocol 99 not supported/, 'protocol'],
  ['agent id with ../', [helloFrame('../../etc/passwd', 'h', null)], 1008, /^invalid hello: agentId: /, 'schema'],
  ['run id with HTML', [helloFrame('frames-html-run', 'h', '<script>alert(1)</script>')], 1008, /^invalid hello: runId: /, 'schema'],
  ['run id with NUL', [helloFrame('frames-nul-run', 'h', 'a\u0000b')], 1008, /^invalid hello: runId: /, 'schema'],
  ['unknown field in a ping', [hello(), '{"type":"ping","id":1,"t0":1,"extra":true}'], 1008, /^invalid ping: /, 'schema'],
  ['no hello at all', [], 1008, /^no hello within 1000 ms$/, 'no-hello'],
];

const PAYLOADS = ['../../../etc/passwd', `"quoted" 'single' \`back\``, '<script>alert(1)</script><img src=x onerror=alert(2)>', 'nul\u0000inside'];

describe('adversarial: bad frames close that connection with a reason; the good agent beside loses nothing', () => {
  it('refuses each bad frame with the right close code and reason, and counts it', async () => {
    for (const [name, frames, code, reason] of REFUSED) {
      const r = await session(collector.url, frames, { lingerMs: name === 'no hello at all' ? 3000 : 400 });
      expect(r.code, name).toBe(code);
      expect(r.reason, name).toMatch(reason);
    }
    expect([...collector.store.samples('frames-bad-run')]).toEqual([]);
    const metrics = await collector.telemetry.metricsText();
    for (const reason of new Set(REFUSED.map((c) => c[4]))) {
      expect(metrics, reason).toMatch(new RegExp(`stagewatch_collector_rejects_total\\{reason="${reason}"\\} [1-9]`));
    }
    figure('frames: bad frames refused with their close code', REFUSED.length);
  });

  it('stores a repeated seq once, out-of-order seqs each once, and the largest safe seq', async () => {
    const id = 'frames-seqs';
    const b = (seq: number) => batchFrame(seq, 'frames-seq-run', [sample('frames-seq-host', NOW, { util_pct: seq % 100 })]);
    const first = await session(collector.url, [helloFrame(id, 'frames-seq-host', 'frames-seq-run'), b(3), b(1), b(3), b(2), b(2 ** 53 - 1)], { lingerMs: 500 });
    expect(first.code).toBe(1000);
    expect(first.messages.flatMap((m) => m.seqs ?? []).sort((x, y) => x - y)).toEqual([1, 2, 3, 3, 2 ** 53 - 1]);
    expect(collector.store.storedBatches(id).map((s) => s.seq)).toEqual([1, 2, 3, 2 ** 53 - 1]);
    const again = await session(collector.url, [helloFrame(id, 'frames-seq-host', 'frames-seq-run')]);
    expect(again.messages[0]).toMatchObject({ type: 'welcome', storedThrough: 3 });
    expect([...collector.store.samples('frames-seq-run')]).toHaveLength(4);
  });

  it('keeps ../, quotes, HTML and NUL in every string field as text, or refuses it naming the field', async () => {
    const STAGE_CHARS = /^[A-Za-z0-9_.:/ -]+$/;
    const healthOf = (host: string, over: Record<string, unknown>) => ({ t: NOW, host, source: 'health', sampler: 'smi', state: 'ok', restarts: 0, lines: 0, badLines: 0, absent: {}, ...over });
    const mark = (stage: string, kind: string, t: number) => ({ t, kind, stage, source: 'http' });
    // [field, frames for payload p with a fresh agent id, the field's own rule (null: any text)]
    const FIELDS: Array<[string, (p: string, id: string) => string[], RegExp | null]> = [
      ['hello.host', (p, id) => [helloFrame(id, `host ${p}`, 'frames-str-run'), batchFrame(1, 'frames-str-run', [sample(`host ${p}`)])], null],
      ['hello.gpus.name', (p, id) => [helloFrame(id, id, 'frames-str-run', { gpus: [{ index: 0, uuid: 'GPU-1', name: `H100 ${p}`, memTotalMib: 1 }] })], null],
      ['hello.gpus.uuid', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run', { gpus: [{ index: 0, uuid: `GPU-${p}`, name: 'H100', memTotalMib: 1 }] })], null],
      ['hello.agentVersion', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run', { agentVersion: `v${p}` })], null],
      ['hello.capabilities.fields', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run', { capabilities: { gpm: false, fields: [p] } })], null],
      ['samples.host', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run'), batchFrame(1, 'frames-str-run', [sample(`sample ${p}`, NOW, { util_pct: 55 })])], null],
      ['samples.m (metric name)', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run'), batchFrame(1, 'frames-str-run', [sample('str-host', NOW, { [`m${p}`]: 7 })])], null],
      ['health.sampler', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run'), batchFrame(1, 'frames-str-run', [], { health: [healthOf('str-host', { sampler: `s${p}` })] })], null],
      ['health.error', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run'), batchFrame(1, 'frames-str-run', [], { health: [healthOf('str-host', { error: p })] })], null],
      ['health.absent', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run'), batchFrame(1, 'frames-str-run', [], { health: [healthOf('str-host', { absent: { [`a${p}`]: { [p]: 1 } } })] })], null],
      ['marks.gauges', (p, id) => [helloFrame(id, 'str-host', 'frames-str-run'), batchFrame(1, 'frames-str-run', [], { marks: [{ ...mark('gauged', 'begin', NOW), gauges: { [`g${p}`]: 1 } }] })], null],
      ['marks.stage', (p, id) => [helloFrame(id, 'mark-host', 'frames-str-run'), batchFrame(1, 'frames-str-run', [], { marks: [mark(`stage ${p}`, 'begin', NOW - 1000), mark(`stage ${p}`, 'end', NOW + 1000)] })], STAGE_CHARS],
    ];
    let kept = 0;
    let refused = 0;
    for (const [field, frames, rule] of FIELDS) {
      for (const p of PAYLOADS) {
        const sent = frames(p, `frames-str-${++n}`);
        // Done once the last frame is answered: a welcome for a hello alone, an ack for a batch.
        const closeWhen = (m: Array<{ type: string }>) => m.some((x) => x.type === (sent.length === 1 ? 'welcome' : 'ack'));
        const r = await session(collector.url, sent, { lingerMs: 2000, closeWhen });
        const what = `${field} ${JSON.stringify(p)}`;
        if (rule === null || rule.test(`stage ${p}`)) {
          expect(`${r.code} ${r.reason}`, what).toBe('1000 ');
          kept++;
        } else {
          expect(r.code, what).toBe(1008);
          expect(r.reason, what).toMatch(/^invalid batch: marks\.0\.stage: stage names use letters, digits, space and _\.:\/-$/);
          refused++;
        }
      }
    }
    // What is kept comes back exactly as sent, and as text, not markup.
    const base = `http://127.0.0.1:${collector.port}`;
    const hosts = (await (await fetch(`${base}/api/hosts`, { headers: auth })).json()) as Array<{ host: string; gpus: Array<{ name: string }> }>;
    const samples = [...collector.store.samples('frames-str-run')];
    for (const p of PAYLOADS) {
      expect(hosts.map((h) => h.host), JSON.stringify(p)).toContain(`host ${p}`);
      expect(hosts.flatMap((h) => h.gpus.map((g) => g.name)), JSON.stringify(p)).toContain(`H100 ${p}`);
      // A sample's own host field is not trusted: it is stored under its connection's hello host.
      expect(samples.map((s) => s.host), JSON.stringify(p)).not.toContain(`sample ${p}`);
      expect(samples.some((s) => s.m[`m${p}`] === 7), JSON.stringify(p)).toBe(true);
    }
    expect(samples.filter((s) => s.m.util_pct === 55).map((s) => s.host)).toEqual(PAYLOADS.map(() => 'str-host'));
    const report = JSON.stringify(await (await fetch(`${base}/api/runs/frames-str-run/report`, { headers: auth })).json());
    expect(report).toContain(JSON.stringify('stage ../../../etc/passwd'));
    for (const format of ['html', 'md']) {
      const body = await (await fetch(`${base}/api/runs/frames-str-run/report?format=${format}`, { headers: auth })).text();
      expect(body, format).toContain('host ');
      expect(body, format).not.toMatch(/<script>alert|<img src=x/);
    }
    figure('frames: string field x payload cases kept verbatim', kept);
    figure('frames: string field x payload cases refused naming the field', refused);
  });

  it("refuses a hello that claims another agent's id, with or without a key, and keeps that agent's data apart", async () => {
    await waitFor('the good agent to stream a while', () => good.produced() >= 20);
    const claims = [
      ['no key', auth],
      ['another key', { ...auth, 'x-stagewatch-agent-key': 'f'.repeat(32) }],
    ] as const;
    for (const [name, headers] of claims) {
      const r = await session(collector.url, [helloFrame(good.agentId, 'frames-good', 'frames-good-run'), batchFrame(1, 'frames-good-run', [sample('frames-good', NOW, { util_pct: 1, power_w: -1 })])], { headers });
      expect(r.code, name).toBe(1008);
      expect(r.reason, name).toMatch(new RegExp(`^agent id ${good.agentId} belongs to another agent`));
    }
    const badKey = await session(collector.url, [hello()], { headers: { ...auth, 'x-stagewatch-agent-key': 'not hex' } });
    expect(badKey.status).toBe(400);
  });

  it('the good agent streaming beside every case stored each of its samples exactly once', async () => {
    const { drained, samples } = await good.stop();
    expect(drained).toBe(true);
    expect(storedCounters(collector.store.samples('frames-good-run'), 'frames-good')).toEqual(range(samples.length));
    expect((await fetch(`http://127.0.0.1:${collector.port}/healthz`)).status).toBe(200);
    figure('frames: good agent samples stored exactly once', samples.length);
  });
});
