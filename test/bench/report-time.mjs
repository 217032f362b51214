#!/usr/bin/env node
// Report time: one hour of 8 GPUs at 10 Hz (with GPM at 1 Hz, host and workload at 10 Hz, and
// 60 Wan-shaped requests of stage marks) in a real SQLite store, then the report built from it.
// Every sample says the interval it covers (dur_ms), as agents do since issue 11.
//   node test/bench/report-time.mjs [--gpus 8] [--hours 1] [--hz 10] [--gpm-hz 1]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pendingBatch, SqliteStore } from '../../collector/dist/store/sqlite.js';
import { makeReport, renderReport } from '../../collector/dist/report/index.js';

const { values } = parseArgs({ options: { gpus: { type: 'string', default: '8' }, hours: { type: 'string', default: '1' }, hz: { type: 'string', default: '10' }, 'gpm-hz': { type: 'string', default: '1' }, report: { type: 'string' } } });

/** Child mode: the report of the store in dir, timed; peak RSS of this process. */
function reportOnly(dir) {
  const store = new SqliteStore(dir);
  const c0 = process.cpuUsage();
  const r0 = performance.now();
  const report = makeReport(store, 'hour');
  const reportS = (performance.now() - r0) / 1000;
  const cpu = process.cpuUsage(c0);
  const peakAfterJson = process.resourceUsage().maxRSS / 1024;
  const m0 = performance.now();
  const md = renderReport(report, 'md');
  const mdS = (performance.now() - m0) / 1000;
  const h0 = performance.now();
  const html = renderReport(report, 'html', store);
  const htmlS = (performance.now() - h0) / 1000;
  console.log(JSON.stringify({
    stages: report.hosts[0].stages.length, reportJsonS: Math.round(reportS * 100) / 100, reportCpuS: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
    markdownS: Math.round(mdS * 1000) / 1000, htmlS: Math.round(htmlS * 100) / 100,
    peakRssMib: Math.round(peakAfterJson), peakRssWithHtmlMib: Math.round(process.resourceUsage().maxRSS / 1024), mdBytes: md.length, htmlBytes: html.length,
  }));
  store.close();
}
const gpus = Number(values.gpus);
const hz = Number(values.hz);
const gpmHz = Number(values['gpm-hz']);
const seconds = Number(values.hours) * 3600;
if (values.report) {
  reportOnly(values.report);
  process.exit(0);
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-report-bench-'));
const store = new SqliteStore(dir);
const host = 'bench-h100x8';
const reg = store.registerAgent({ type: 'hello', protocol: 1, agentId: 'bench', host, runId: 'hour', gpus: Array.from({ length: gpus }, (_, i) => ({ index: i, uuid: `GPU-${i}`, name: 'NVIDIA H100 80GB HBM3', memTotalMib: 81559 })), capabilities: { gpm: true, fields: [] }, agentVersion: 'bench' }, Date.now());
const t0 = Date.now() - seconds * 1000;
const stageOf = (s) => { const r = s % 60; return r < 20 ? 'init' : r < 28 ? 't5_encode' : r < 52 ? 'denoise' : 'vae_decode'; };
let seq = 0;
let samples = 0;
const gen0 = performance.now();
for (let sec = 0; sec < seconds; sec += 10) {
  const batch = [];
  const marks = [];
  for (let s = sec; s < sec + 10; s++) {
    const st = stageOf(s);
    const busy = st === 'denoise' || st === 'vae_decode';
    if (s % 60 === 0) marks.push({ t: t0 + s * 1000, kind: 'begin', stage: 'request', source: 'http' });
    for (const [b, e, name] of [[0, 20, 'init'], [20, 28, 't5_encode'], [28, 52, 'denoise'], [52, 60, 'vae_decode']]) {
      if (s % 60 === b) marks.push({ t: t0 + s * 1000, kind: 'begin', stage: name, source: 'http', gauges: { torch_reserved_mib: 1536 + b * 10 } });
      if (s % 60 === e - 1) marks.push({ t: t0 + (s + 1) * 1000 - 1, kind: 'end', stage: name, source: 'http' });
    }
    if (s % 60 === 59) marks.push({ t: t0 + (s + 1) * 1000, kind: 'end', stage: 'request', source: 'http' });
    for (let k = 0; k < hz; k++) {
      // A reading is stamped at the end of the interval it describes.
      const t = t0 + s * 1000 + ((k + 1) * 1000) / hz;
      for (let g = 0; g < gpus; g++) batch.push({ t, host, source: 'gpu', gpu: g, dur_ms: 1000 / hz, m: { util_pct: busy ? 100 : 0, mem_util_pct: busy ? 40 : 0, mem_used_mib: 2000 + g, mem_total_mib: 81559, power_w: busy ? 650 : 75, temp_c: 50, sm_clock_mhz: 1980, pstate: 0 } });
      batch.push({ t, host, source: 'host', dur_ms: 1000 / hz, m: { cpu_pct: 10, cpu_core_max_pct: st === 't5_encode' ? 100 : 20, load1: 1, mem_used_mib: 9000, mem_available_mib: 100000, disk_read_mibps: 0, disk_write_mibps: 0, net_rx_mibps: 0, net_tx_mibps: 0 } });
      batch.push({ t, host, source: 'proc', dur_ms: 1000 / hz, m: { cpu_cores: st === 't5_encode' ? 1 : 0.2, rss_mib: 9000, threads: 40, procs: 1 } });
    }
    for (let k = 0; k < gpmHz; k++) {
      const t = t0 + s * 1000 + ((k + 1) * 1000) / gpmHz;
      for (let g = 0; g < gpus; g++) batch.push({ t, host, source: 'gpu', gpu: g, dur_ms: 1000 / gpmHz, m: { sm_active_pct: busy ? 90 : 0, sm_occupancy_pct: busy ? 40 : 0, tensor_active_pct: busy ? 80 : 0, dram_active_pct: 20 } });
    }
  }
  samples += batch.length;
  store.writeBatches([pendingBatch('bench', reg.hid, host, { type: 'batch', seq: ++seq, runId: 'hour', samples: batch, health: [], marks, clock: null, loss: { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 } })], Date.now());
}
const genS = (performance.now() - gen0) / 1000;
store.close();
// The report runs in a fresh process, so its time and peak memory are the report's own, not the
// generator's (which holds batches and the writer's page cache).
const child = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--report', dir], { encoding: 'utf8' }).trim());
console.log(JSON.stringify({ hours: seconds / 3600, gpus, hz, gpmHz, samples, storeWriteS: Math.round(genS * 10) / 10, ...child }));
if (process.env.KEEP_BENCH_STORE) console.error(`store kept in ${dir}`); else rmSync(dir, { recursive: true, force: true });
