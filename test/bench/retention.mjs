#!/usr/bin/env node
// Retention: disk per GPU-hour at each resolution, and ingest batch latency with and without a
// pruning backlog. An hour (--hours) of one 8-GPU host at 10 Hz, as an agent sends it: every GPU
// reading the H100 capture's 18 nvidia-smi metrics (bench-samples.mjs), the host's 9 and the
// workload tree's 4 metrics at 10 Hz, GPM's 4 at 1 Hz, 500 ms batches, in a real SQLite store.
// Then (1) bytes of that hour raw, rolled into 1 s, then into 10 s; (2) in-process ingest
// (Ingestor, the collector's group commit) of --agents agents x 8 GPUs x 10 Hz in 500 ms
// batches for --seconds, once with nothing to prune and once while the pruner works through the
// hour as a backlog: each batch's submit-to-commit latency (no network: the store and the event
// loop it shares with the pruner are what is measured).
//   node test/bench/retention.mjs [--hours 1] [--agents 50] [--seconds 15]
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pendingBatch, SqliteStore } from '../../collector/dist/store/sqlite.js';
import { Pruner } from '../../collector/dist/store/retention/pruner.js';
import { Ingestor } from '../../collector/dist/ingest.js';
import { CollectorTelemetry } from '../../collector/dist/telemetry.js';
import { SqliteEngine } from '../../collector/dist/store/engine.js';
import { GPUS, hello, hostBatch, LOSS, paceHostBatches } from './bench-samples.mjs';

const { values } = parseArgs({ options: { hours: { type: 'string', default: '1' }, agents: { type: 'string', default: '50' }, seconds: { type: 'string', default: '15' } } });
const HZ = 10;
const hours = Number(values.hours);
/** Blob bytes by table and source, and the file's size after VACUUM (indexes, pages and all). */
function bytes(dir) {
  const db = new Database(path.join(dir, 'stagewatch.sqlite'));
  const by = (table) => Object.fromEntries(db.prepare(`SELECT source, sum(length(data)) AS b FROM ${table} GROUP BY source`).all().map((r) => [['gpu', 'host', 'proc'][r.source], r.b]));
  const out = { blocks: by('blocks'), rollups1s: Object.fromEntries(db.prepare('SELECT source, sum(length(data)) AS b FROM rollups WHERE res = 1000 GROUP BY source').all().map((r) => [['gpu', 'host', 'proc'][r.source], r.b])), rollups10s: Object.fromEntries(db.prepare('SELECT source, sum(length(data)) AS b FROM rollups WHERE res = 10000 GROUP BY source').all().map((r) => [['gpu', 'host', 'proc'][r.source], r.b])) };
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { ...out, fileBytes: statSync(path.join(dir, 'stagewatch.sqlite')).size };
}

/** Runs a pruner pass over the store to its end (real timers); returns seconds and steps. */
function pruneAll(store, policy, now) {
  return new Promise((resolve) => {
    let steps = 0;
    const t0 = performance.now();
    // The pruner's timers are unref'd: they alone do not keep the process up.
    const keep = setInterval(() => {}, 1000);
    const p = new Pruner(store.retentionTarget(), policy, {
      now: () => now,
      onStep: () => steps++,
      onIdle: () => {
        p.close();
        clearInterval(keep);
        resolve({ s: (performance.now() - t0) / 1000, steps });
      },
    });
    p.start();
  });
}

const perGpuHour = (b, hoursOf) => Math.round((b ?? 0) / (GPUS * hoursOf));
const sizes = (x) => ({ gpuBytesPerGpuHour: perGpuHour(x.gpu, hours), hostAndProcBytesPerGpuHour: perGpuHour((x.host ?? 0) + (x.proc ?? 0), hours) });

// (1) Disk per GPU-hour.
const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-retention-bench-'));
const store = new SqliteStore(dir);
const reg = store.registerAgent(hello('backlog', 'h100x8'), Date.now());
const t0 = Math.floor((Date.now() - (hours + 2) * 3_600_000) / 10_000) * 10_000;
const batches = hours * 7200;
let samples = 0;
for (let k = 0; k < batches; k++) {
  const s = hostBatch('h100x8', k, t0);
  samples += s.length;
  store.writeBatches([pendingBatch('backlog', reg.hid, 'h100x8', { type: 'batch', seq: k + 1, runId: null, samples: s, health: [], marks: [], clock: null, loss: LOSS })], Date.now());
}
store.close();
const raw = bytes(dir);
const copy = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-retention-bench-'));
// (2) needs the raw hour again as a backlog: keep a copy of the file.
copyFileSync(path.join(dir, 'stagewatch.sqlite'), path.join(copy, 'stagewatch.sqlite'));
let s2 = new SqliteStore(dir);
const to1s = await pruneAll(s2, { rawMs: 3_600_000, oneSecondMs: 0, tenSecondMs: 0 }, Date.now());
s2.close();
const one = bytes(dir);
s2 = new SqliteStore(dir);
const to10s = await pruneAll(s2, { rawMs: 3_600_000, oneSecondMs: 3_600_000, tenSecondMs: 0 }, Date.now());
s2.close();
const ten = bytes(dir);
rmSync(dir, { recursive: true, force: true });

// (2) Ingest latency, without and with the backlog being pruned.
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 100) / 100 : NaN; };
async function ingestRun(dataDir, prune) {
  const st = new SqliteStore(dataDir);
  const agents = Number(values.agents);
  const regs = Array.from({ length: agents }, (_, a) => st.registerAgent(hello(`live-${a}`, `live-${a}`), Date.now()));
  // Ingest writes through the engine interface, as in the collector (store/engine.ts).
  const ingest = new Ingestor(new SqliteEngine(st), new CollectorTelemetry(), () => {});
  const stepMs = [];
  const pruner = prune ? new Pruner(st.retentionTarget(), { rawMs: 3_600_000, oneSecondMs: 0, tenSecondMs: 0 }, { onStep: (_, ms) => stepMs.push(ms) }) : null;
  pruner?.start();
  const lat = await paceHostBatches(ingest, pendingBatch, regs, 'live', agents, Number(values.seconds));
  await ingest.close();
  const busy = pruner?.busy ?? false;
  pruner?.close();
  st.close();
  return { batches: lat.length, batchLatencyMs: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: pct(lat, 1) }, pruneSteps: stepMs.length, pruneStepMs: { p50: pct(stepMs, 0.5), max: pct(stepMs, 1) }, pruneStillBusyAtEnd: busy };
}
const fresh = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-retention-bench-'));
const idle = await ingestRun(fresh, false);
const during = await ingestRun(copy, true);
rmSync(fresh, { recursive: true, force: true });
rmSync(copy, { recursive: true, force: true });

console.log(JSON.stringify({
  hours, gpus: GPUS, hz: HZ, samples,
  diskPerGpuHour: { raw: sizes(raw.blocks), oneSecond: sizes(one.rollups1s), tenSecond: sizes(ten.rollups10s) },
  fileBytesPerGpuHour: { raw: perGpuHour(raw.fileBytes, hours), oneSecond: perGpuHour(one.fileBytes, hours), tenSecond: perGpuHour(ten.fileBytes, hours) },
  pruneSeconds: { rawTo1s: Math.round(to1s.s * 10) / 10, oneTo10s: Math.round(to10s.s * 10) / 10, steps: to1s.steps + to10s.steps },
  ingest: { agents: Number(values.agents), seconds: Number(values.seconds), withoutPruning: idle, whilePruningBacklog: during },
}));
