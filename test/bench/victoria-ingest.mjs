#!/usr/bin/env node
// VictoriaMetrics ingest benchmark, the collector's saturated scenario's counterpart: the same GPU
// samples (bench-samples.mjs) as InfluxDB line protocol (one line per sample, its 18 metrics as
// fields, host and GPU as tags), posted to Debian's victoria-metrics (`-storageDataPath` on a temp
// dir) by 16 senders keeping 4 requests of 1,000 lines each in flight. Prints JSON.
//   node test/bench/victoria-ingest.mjs [--seconds S] [--agents N] [--gpus G]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchBatch, CAPTURE_ROWS, METRICS_PER_SAMPLE } from './bench-samples.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, agents: { type: 'string', default: '16' }, gpus: { type: 'string', default: '8' } } });
const seconds = Number(values.seconds);
const agents = Number(values.agents);
const gpus = Number(values.gpus);
const perBatch = 1000;
const steps = perBatch / gpus;

const debianVersion = () => {
  try {
    return `Debian ${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'victoria-metrics'], { encoding: 'utf8' })}`;
  } catch {
    return null;
  }
};
const cpuTicks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const rssMib = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const duBytes = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((a, e) => a + (e.isDirectory() ? duBytes(path.join(dir, e.name)) : e.isFile() ? statSync(path.join(dir, e.name)).size : 0), 0);
const port = await new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });

const data = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-vm-bench-'));
const bin = process.env.STAGEWATCH_VICTORIA_METRICS ?? 'victoria-metrics';
const vm = spawn(bin, [`-storageDataPath=${data}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-loggerLevel=ERROR'], { stdio: ['ignore', 'ignore', 'inherit'] });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${url}/health`)).ok) break;
  } catch {}
  if (i > 100) throw new Error('victoria-metrics did not start (is the victoria-metrics package installed?)');
  await new Promise((r) => setTimeout(r, 100));
}

// Each (capture row step, GPU) line's fields are written once; a request adds host and time.
const fieldsOf = new Map();
const lineFields = (s) => {
  let f = fieldsOf.get(s.m);
  if (!f) fieldsOf.set(s.m, (f = Object.entries(s.m).map(([k, v]) => `${k}=${v}`).join(',')));
  return f;
};
const agentHttp = new http.Agent({ keepAlive: true, maxSockets: 4 * agents });
const post = (body) =>
  new Promise((resolve, reject) => {
    const req = http.request(`${url}/write?precision=ms`, { method: 'POST', agent: agentHttp, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });

let stored = 0;
const latencies = [];
const deadline = { start: 0, end: 0 };
async function sender(i) {
  let tNext = Date.now() - 3_600_000;
  let b = 0;
  while (Date.now() < deadline.end) {
    const samples = benchBatch('bench', gpus, (b++ * steps) % CAPTURE_ROWS, steps, tNext);
    tNext += steps * 100;
    let body = '';
    for (const s of samples) body += `gpu,host=bench-host-${i},gpu=${s.gpu} ${lineFields(s)} ${s.t}\n`;
    const sentAt = Date.now();
    await post(body);
    if (Date.now() <= deadline.end + 5000) {
      stored += samples.length;
      latencies.push(Date.now() - sentAt);
    }
  }
}

const cpu0 = cpuTicks(vm.pid);
deadline.start = Date.now();
deadline.end = deadline.start + seconds * 1000;
await Promise.all(Array.from({ length: agents * 4 }, (_, k) => sender(k % agents)));
const elapsed = (Date.now() - deadline.start) / 1000;
const cpuCores = (cpuTicks(vm.pid) - cpu0) / 100 / elapsed;
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
await fetch(`${url}/internal/force_flush`);
const metrics = await (await fetch(`${url}/metrics`)).text();
const rowsInserted = Number(/^vm_rows_inserted_total\{type="influx"\} (\d+)/m.exec(metrics)?.[1] ?? NaN);
const peakRss = Math.round(rssMib(vm.pid));
vm.kill('SIGTERM');
await new Promise((r) => vm.on('exit', r));
const round2 = (x) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify({
    server: 'victoria-metrics',
    // Debian's build leaves vm_app_version empty; the package says which it is.
    version: /^vm_app_version\{[^}]*short_version="([^"]+)"/m.exec(metrics)?.[1] || debianVersion(),
    agents,
    gpus,
    seconds,
    samplesStored: stored,
    samplesPerSecond: Math.round(stored / elapsed),
    serverCpuCores: round2(cpuCores),
    samplesPerCpuSecond: Math.round(stored / (cpuCores * elapsed)),
    valuesInserted: rowsInserted,
    requestLatencyMs: { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) },
    peakRssMib: peakRss,
    // After force_flush and a clean stop; background merges may shrink it further later.
    diskBytesPerValue: round2(duBytes(data) / (stored * METRICS_PER_SAMPLE)),
  }),
);
