#!/usr/bin/env node
// Collector ingest benchmark: simulated agents stream GPU samples over real WebSockets to a real
// collector process writing a real SQLite file. Prints JSON with the figures.
//   node test/bench/collector-ingest.mjs --scenario max|fleet [--agents N] [--gpus G] [--hz H] [--seconds S]
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { scenario: { type: 'string', default: 'fleet' }, agents: { type: 'string' }, gpus: { type: 'string' }, hz: { type: 'string' }, seconds: { type: 'string' }, 'batch-ms': { type: 'string' } } });
const scenario = values.scenario;
const agents = Number(values.agents ?? (scenario === 'max' ? 16 : 200));
const gpus = Number(values.gpus ?? 8);
const hz = Number(values.hz ?? 10);
const seconds = Number(values.seconds ?? (scenario === 'max' ? 10 : 20));
const batchMs = Number(values['batch-ms'] ?? 500);

// A real GPU sample's metrics: the H100 capture's denoise row, as the agent reports it.
const capture = readFileSync(path.join(root, 'test/fixtures/h100-staged/stream-lms100.csv'), 'utf8').trim().split('\n');
const cells = capture[400].split(', ');
const m = { util_pct: +cells[5], mem_util_pct: +cells[6], mem_used_mib: +cells[9], mem_total_mib: +cells[7], mem_reserved_mib: +cells[8], power_w: +cells[11], power_limit_w: +cells[12], temp_c: +cells[13], mem_temp_c: +cells[14], sm_clock_mhz: +cells[15], mem_clock_mhz: +cells[16], sm_clock_max_mhz: +cells[17], pcie_link_gen: +cells[18], pcie_link_width: +cells[19], clock_event_reasons: 1, pstate: 0, mig_enabled: 0, ecc_uncorrected: 0 };

const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const rssMib = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };

const data = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-bench-'));
const col = spawn(process.execPath, [path.join(root, 'collector/bin/stagewatch-collector.js'), 'serve', '--port', '0', '--data', data, '--max-payload-mib', '64'], { stdio: ['ignore', 'ignore', 'pipe'] });
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
    const perBatch = scenario === 'max' ? 1000 : Math.round((gpus * hz * batchMs) / 1000);
    // For max ingest each sample's text is built once; only its time moves on, as in a real run.
    const fragments = Array.from({ length: perBatch }, (_, k) => JSON.stringify({ host, source: 'gpu', gpu: k % gpus, m }).slice(1));
    let tNext = Date.now() - 3_600_000;
    const send = () => {
      const now = Date.now();
      seq++;
      let samples;
      if (scenario === 'max') samples = `[${fragments.map((f, k) => `{"t":${tNext + Math.floor(k / gpus) * 100},${f}`).join(',')}]`, (tNext += (perBatch / gpus) * 100);
      else samples = JSON.stringify(Array.from({ length: perBatch }, (_, k) => ({ t: now - batchMs + Math.floor(((k / gpus) | 0) * (1000 / hz)), host, source: 'gpu', gpu: k % gpus, m })));
      inflight.set(seq, { sentAt: now, oldest: now - batchMs, n: perBatch });
      sentSamples += perBatch;
      ws.send(`{"type":"batch","seq":${seq},"runId":"bench","clock":null,"loss":{"batches":0,"samples":0},"health":[],"samples":${samples}}`);
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
const result = {
  scenario,
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
  collectorPeakRssMib: Math.round(rssMib(col.pid)),
};
for (const c of conns) c.close();
col.kill('SIGTERM');
await new Promise((r) => col.on('exit', r));
console.log(JSON.stringify(result));
