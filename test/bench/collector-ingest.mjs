#!/usr/bin/env node
// Collector ingest benchmark: simulated agents stream GPU samples over real WebSockets to a real
// collector process writing a real SQLite file. Prints JSON with the figures.
//   node test/bench/collector-ingest.mjs --scenario max|fleet [--frames columnar|json] [--agents N] [--gpus G] [--hz H] [--seconds S] [--store postgres://...]
// --store: the collector writes to that PostgreSQL database instead (pg-ingest.mjs starts one).
// --frames: columnar batch frames (what agents send a collector that takes them) or JSON text
// (agents from before them). Samples are the H100 capture's rows (bench-samples.mjs).
import { readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import Database from 'better-sqlite3';
import pg from 'pg';
import { encodeBatchFrame, encodeFrame, encodeSampleBlocks, moveBlock } from '../../shared/dist/index.js';
import { benchBatch, CAPTURE_ROWS, METRICS_PER_SAMPLE } from './bench-samples.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { scenario: { type: 'string', default: 'fleet' }, frames: { type: 'string', default: 'columnar' }, agents: { type: 'string' }, gpus: { type: 'string' }, hz: { type: 'string' }, seconds: { type: 'string' }, 'batch-ms': { type: 'string' }, store: { type: 'string' } } });
const scenario = values.scenario;
const columnar = values.frames === 'columnar';
const agents = Number(values.agents ?? (scenario === 'max' ? 16 : 200));
const gpus = Number(values.gpus ?? 8);
const hz = Number(values.hz ?? 10);
const seconds = Number(values.seconds ?? (scenario === 'max' ? 10 : 20));
const batchMs = Number(values['batch-ms'] ?? 500);

const perBatch = scenario === 'max' ? 1000 : Math.round((gpus * hz * batchMs) / 1000);
const stepsPerBatch = perBatch / gpus;
// Saturated: every batch's content is one of CAPTURE_ROWS templates (the capture's rows move on by
// a batch each time), encoded once before the clock starts; a send only moves its times on.
const T0 = 1_700_000_000_000;
const templates = new Map();
const template = (b) => {
  const k = (b * stepsPerBatch) % CAPTURE_ROWS;
  if (!templates.has(k)) {
    // Templates serve every agent: the collector files samples under the hello's host, not theirs.
    const samples = benchBatch('bench', gpus, k, stepsPerBatch, T0);
    templates.set(k, columnar ? encodeSampleBlocks(samples) : samples.map(({ t: _t, ...rest }) => JSON.stringify(rest).slice(1)));
  }
  return templates.get(k);
};
if (scenario === 'max') for (let b = 0; b < CAPTURE_ROWS; b++) template(b);

const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const rssMib = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };

const data = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-bench-'));
// BENCH_COLLECTOR_NODE_ARGS: node flags for the collector, e.g. "--cpu-prof --cpu-prof-dir=DIR" to see where its time goes.
const nodeArgs = (process.env.BENCH_COLLECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
const storeArgs = values.store ? ['--store', values.store] : ['--data', data];
const col = spawn(process.execPath, [...nodeArgs, path.join(root, 'collector/bin/stagewatch-collector.js'), 'serve', '--port', '0', ...storeArgs, '--max-payload-mib', '64'], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
const port = await new Promise((resolve, reject) => {
  col.stderr.on('data', (d) => { err += d; const mm = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err); if (mm) resolve(Number(mm[1])); });
  col.on('exit', () => reject(new Error(err)));
});

const batchLatency = [];
const sampleLatency = [];
let stored = 0;
let sentSamples = 0;
const conns = [];
const deadline = { start: 0, end: 0 };

function agent(i) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`, { perMessageDeflate: false });
    const host = `bench-host-${i}`;
    const inflight = new Map();
    let seq = 0;
    let tNext = Date.now() - 3_600_000;
    const fields = () => ({ type: 'batch', seq, runId: 'bench', clock: null, loss: { batches: 0, samples: 0 }, health: [] });
    const send = () => {
      const now = Date.now();
      seq++;
      if (scenario === 'max') {
        const t = template(seq);
        const at = (k) => tNext + Math.floor(k / gpus) * 100;
        if (columnar) ws.send(encodeFrame(fields(), t.map((b) => moveBlock(b, tNext - T0))));
        else ws.send(`${JSON.stringify(fields()).slice(0, -1)},"samples":[${t.map((f, k) => `{"t":${at(k)},${f}`).join(',')}]}`);
        tNext += stepsPerBatch * 100;
      } else {
        const samples = benchBatch(host, gpus, seq * stepsPerBatch, stepsPerBatch, now - batchMs, 1000 / hz);
        ws.send(columnar ? encodeBatchFrame({ ...fields(), samples }) : JSON.stringify({ ...fields(), samples }));
      }
      inflight.set(seq, { sentAt: now, oldest: now - batchMs, n: perBatch });
      sentSamples += perBatch;
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, agentId: `bench-${i}-${process.pid}`, host, runId: 'bench', gpus: Array.from({ length: gpus }, (_, g) => ({ index: g, uuid: `GPU-${i}-${g}`, name: 'NVIDIA H100 80GB HBM3', memTotalMib: 81559 })), capabilities: { gpm: true, fields: [] }, agentVersion: 'bench' })));
    ws.on('message', (d) => {
      const msg = JSON.parse(String(d));
      if (msg.type === 'welcome') {
        conns.push(ws);
        resolve({ ws, send, inflight });
      } else if (msg.type === 'ack') {
        const now = Date.now();
        for (const s of msg.seqs) {
          const b = inflight.get(s);
          if (!b) continue;
          inflight.delete(s);
          if (b.sentAt >= deadline.start && now <= deadline.end + 5000) {
            stored += b.n;
            batchLatency.push(now - b.sentAt);
            sampleLatency.push(now - b.oldest);
          }
          if (scenario === 'max' && now < deadline.end) send();
        }
      }
    });
  });
}

const clients = await Promise.all(Array.from({ length: agents }, (_, i) => agent(i)));
const cpu0 = cpuTicks(col.pid);
deadline.start = Date.now();
deadline.end = deadline.start + seconds * 1000;
const timers = [];
if (scenario === 'max') {
  for (const c of clients) for (let w = 0; w < 4; w++) c.send();
} else {
  // Agents start spread over one batch interval, as real ones would.
  clients.forEach((c, i) => setTimeout(() => { c.send(); timers.push(setInterval(c.send, batchMs)); }, (i * batchMs) / agents));
}
await new Promise((r) => setTimeout(r, seconds * 1000));
for (const t of timers) clearInterval(t);
const sendStop = Date.now();
// Let in-flight batches finish.
for (let i = 0; i < 100 && clients.some((c) => c.inflight.size > 0); i++) await new Promise((r) => setTimeout(r, 100));
const elapsed = (Date.now() - deadline.start) / 1000;
const cpuCores = (cpuTicks(col.pid) - cpu0) / 100 / elapsed;
const peakRss = Math.round(rssMib(col.pid));
const round2 = (x) => Math.round(x * 100) / 100;
for (const c of conns) c.close();
col.kill('SIGTERM');
await new Promise((r) => col.on('exit', r));
// What the store holds once the collector closed it (its WAL checkpointed into the file).
let blocks;
let storeBytes;
if (values.store) {
  const c = new pg.Client({ connectionString: values.store });
  await c.connect();
  blocks = (await c.query('SELECT count(*)::int AS blocks, sum(n)::int AS samples, sum(length(data))::bigint AS bytes FROM blocks')).rows[0];
  blocks.bytes = Number(blocks.bytes);
  storeBytes = Number((await c.query('SELECT pg_database_size(current_database()) AS b')).rows[0].b);
  await c.end();
} else {
  const db = new Database(path.join(data, 'stagewatch.sqlite'), { readonly: true });
  blocks = db.prepare('SELECT count(*) AS blocks, sum(n) AS samples, sum(length(data)) AS bytes FROM blocks').get();
  db.close();
  storeBytes = statSync(path.join(data, 'stagewatch.sqlite')).size;
}
rmSync(data, { recursive: true, force: true });
const storedValues = blocks.samples * METRICS_PER_SAMPLE;
const result = {
  scenario,
  frames: columnar ? 'columnar' : 'json',
  agents,
  gpus,
  hz: scenario === 'max' ? null : hz,
  batchMs: scenario === 'max' ? null : batchMs,
  seconds,
  samplesStored: stored,
  samplesPerSecond: Math.round(stored / ((sendStop - deadline.start) / 1000)),
  collectorCpuCores: Math.round(cpuCores * 100) / 100,
  samplesPerCpuSecond: Math.round(stored / (cpuCores * elapsed)),
  batchLatencyMs: { p50: pct(batchLatency, 0.5), p99: pct(batchLatency, 0.99), max: pct(batchLatency, 1) },
  sampleToStoredMs: { p50: pct(sampleLatency, 0.5), p99: pct(sampleLatency, 0.99) },
  collectorPeakRssMib: peakRss,
  store: { samples: blocks.samples, blocks: blocks.blocks, valuesPerSample: METRICS_PER_SAMPLE, blockBytesPerValue: round2(blocks.bytes / storedValues), fileBytesPerValue: round2(storeBytes / storedValues) },
  ...(values.store ? { engine: 'postgres' } : {}),
};
console.log(JSON.stringify(result));
