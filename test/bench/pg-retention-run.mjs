#!/usr/bin/env node
// Retention on PostgreSQL (run by pg-ingest.mjs --script pg-retention-run.mjs, which starts the
// server and passes --store): --hours of one 8-GPU host at 10 Hz (retention.mjs's readings)
// stored long ago through the PostgreSQL engine, then in-process ingest (Ingestor, the group
// commit) of --agents agents x 8 GPUs x 10 Hz in 500 ms batches for --seconds, once with nothing
// to prune and once while the PostgreSQL pruner (pg/pruner.ts) rolls that backlog into 1 s:
// each batch's submit-to-commit latency, and the pruner's step times.
//   node test/bench/pg-ingest.mjs --script pg-retention-run.mjs [--hours 1] [--agents 50] [--seconds 15]
import { parseArgs } from 'node:util';
import { PgEngine } from '../../collector/dist/store/pg/engine.js';
import { PgPruner } from '../../collector/dist/store/pg/pruner.js';
import { pendingBatch } from '../../collector/dist/store/rows.js';
import { Ingestor } from '../../collector/dist/ingest.js';
import { CollectorTelemetry } from '../../collector/dist/telemetry.js';
import { hello, hostBatch, LOSS, paceHostBatches } from './bench-samples.mjs';

const { values } = parseArgs({ options: { hours: { type: 'string', default: '1' }, agents: { type: 'string', default: '50' }, seconds: { type: 'string', default: '15' }, store: { type: 'string' } } });
const url = values.store;
const hours = Number(values.hours);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 100) / 100 : NaN; };
const POLICY = { rawMs: 3_600_000, oneSecondMs: 0, tenSecondMs: 0 };

// The backlog: an hour of one host, ending two hours ago, 64 batches per commit.
const setup = await PgEngine.open(url, () => {});
const reg = await setup.registerAgent(hello('backlog', 'h100x8'), Date.now(), null);
const t0 = Math.floor((Date.now() - (hours + 2) * 3_600_000) / 10_000) * 10_000;
const total = hours * 7200;
for (let k = 0; k < total; k += 64) {
  const group = [];
  for (let j = k; j < Math.min(total, k + 64); j++) group.push(pendingBatch('backlog', reg.hid, 'h100x8', { type: 'batch', seq: j + 1, runId: null, samples: hostBatch('h100x8', j, t0), health: [], marks: [], clock: null, loss: LOSS }));
  await setup.writeBatches(group, Date.now());
}
await setup.close();

async function ingestRun(prune) {
  const engine = await PgEngine.open(url, () => {});
  const agents = Number(values.agents);
  const tag = prune ? 'during' : 'idle';
  const regs = [];
  for (let a = 0; a < agents; a++) regs.push(await engine.registerAgent(hello(`${tag}-${a}`, `${tag}-${a}`), Date.now(), null));
  const ingest = new Ingestor(engine, new CollectorTelemetry(), () => {});
  const stepMs = [];
  let passes = 0;
  const pruner = prune ? new PgPruner(() => engine.retentionSession(), POLICY, { onStep: (_, ms) => stepMs.push(ms), onPass: () => passes++ }) : null;
  pruner?.start();
  const lat = await paceHostBatches(ingest, pendingBatch, regs, tag, agents, Number(values.seconds));
  await ingest.close();
  await pruner?.close();
  await engine.close();
  return { batches: lat.length, batchLatencyMs: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: pct(lat, 1) }, pruneSteps: stepMs.length, pruneStepMs: { p50: pct(stepMs, 0.5), p99: pct(stepMs, 0.99), max: pct(stepMs, 1) }, passDone: passes > 0 };
}
const idle = await ingestRun(false);
const during = await ingestRun(true);
console.log(JSON.stringify({ hours, agents: Number(values.agents), seconds: Number(values.seconds), withoutPruning: idle, whilePruningBacklog: during }));
