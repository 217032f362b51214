#!/usr/bin/env node
// `npm run bench`: runs every benchmark, prints each figure with the command that reproduces it,
// and a markdown table for docs/PERFORMANCE.md. Benchmarks measure; they never pass or fail.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const runs = [
  { name: 'collector ingest, saturated, columnar frames', script: 'collector-ingest.mjs', args: ['--scenario', 'max', '--seconds', '10'] },
  { name: 'collector ingest, saturated, JSON frames (agents before columnar frames)', script: 'collector-ingest.mjs', args: ['--scenario', 'max', '--seconds', '10', '--frames', 'json'] },
  { name: 'VictoriaMetrics ingest, saturated, the same samples as Influx line protocol', script: 'victoria-ingest.mjs', args: ['--seconds', '10'] },
  { name: 'collector, 200 agents x 8 GPUs x 10 Hz, 500 ms batches', script: 'collector-ingest.mjs', args: ['--scenario', 'fleet', '--seconds', '20'] },
  { name: 'collector, 200 agents x 8 GPUs x 10 Hz, 100 ms batches', script: 'collector-ingest.mjs', args: ['--scenario', 'fleet', '--seconds', '20', '--batch-ms', '100'] },
  { name: 'collector into PostgreSQL, saturated, columnar frames', script: 'pg-ingest.mjs', args: ['--scenario', 'max', '--seconds', '10'] },
  { name: 'collector into PostgreSQL, 200 agents x 8 GPUs x 10 Hz, 500 ms batches', script: 'pg-ingest.mjs', args: ['--scenario', 'fleet', '--seconds', '20'] },
  { name: 'agent daemon, 10 Hz, replaying fake nvidia-smi', script: 'agent-overhead.mjs', args: ['--hz', '10', '--seconds', '20'] },
  { name: 'agent daemon, 1 Hz, replaying fake nvidia-smi', script: 'agent-overhead.mjs', args: ['--hz', '1', '--seconds', '20'] },
  { name: 'agent daemon, 10 Hz, host only', script: 'agent-overhead.mjs', args: ['--hz', '10', '--seconds', '20', '--backend', 'host-only'] },
  { name: 'report, 1 h x 8 GPUs x 10 Hz', script: 'report-time.mjs', args: [] },
  { name: 'report, 1 h x 8 GPUs x 10 Hz, GPM at 10 Hz', script: 'report-time.mjs', args: ['--gpm-hz', '10'] },
  { name: 'Python marks client, host cost per call', script: 'python-client.py', args: ['--n', '200000'], runner: 'python3' },
  { name: 'retention, 1 h x 8 GPUs x 10 Hz; ingest of 50 agents x 8 GPUs x 10 Hz', script: 'retention.mjs', args: ['--hours', '1', '--agents', '50', '--seconds', '15'] },
  { name: 'retention on PostgreSQL, 1 h x 8 GPUs x 10 Hz; ingest of 50 agents x 8 GPUs x 10 Hz', script: 'pg-ingest.mjs', args: ['--script', 'pg-retention-run.mjs', '--hours', '1', '--agents', '50', '--seconds', '15'] },
];
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
console.log(`machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString()}`);
const rows = [];
for (const r of runs) {
  // `npm run bench -- ingest` runs the collector's and VictoriaMetrics' ingest benchmarks together.
  if (only && !r.script.includes(only)) continue;
  const runner = r.runner ?? 'node';
  const cmd = `${runner} test/bench/${r.script} ${r.args.join(' ')}`;
  console.log(`\n# ${r.name}\n$ ${cmd}`);
  const out = execFileSync(r.runner ?? process.execPath, [path.join(here, r.script), ...r.args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const res = JSON.parse(out.trim().split('\n').at(-1));
  console.log(JSON.stringify(res, null, 1));
  rows.push({ ...r, cmd, res });
}
console.log('\n| benchmark | samples/s stored | collector CPU (cores) | batch sent→acked p50 / p99 ms | sample→stored p50 / p99 ms | collector peak RSS MiB | command |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const { name, cmd, res } of rows) {
  if (!('collectorCpuCores' in res)) continue;
  // Into PostgreSQL the database's CPU is part of the cost: collector + server.
  const cores = res.postgresCpuCores === undefined ? res.collectorCpuCores : `${res.collectorCpuCores} + PostgreSQL ${res.postgresCpuCores}`;
  console.log(`| ${name} | ${res.samplesPerSecond} | ${cores} | ${res.batchLatencyMs.p50} / ${res.batchLatencyMs.p99} | ${res.sampleToStoredMs.p50} / ${res.sampleToStoredMs.p99} | ${res.collectorPeakRssMib} | \`${cmd}\` |`);
}


// Per CPU-second of the server process: both shared this machine with their load generators.
const vm = rows.find((r) => r.res.server === 'victoria-metrics')?.res;
console.log('\n| saturated ingest | samples/s stored | server CPU (cores) | samples per CPU-second | x VictoriaMetrics per CPU-second | bytes per stored value | command |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const { name, cmd, res } of rows) {
  // PostgreSQL rows stay out: their collector's CPU is not the whole cost (the first table has both).
  if (!('samplesPerCpuSecond' in res) || (res.scenario !== undefined && res.scenario !== 'max') || res.engine === 'postgres') continue;
  const ratio = vm ? (res.samplesPerCpuSecond / vm.samplesPerCpuSecond).toFixed(1) : 'not measured';
  const bytes = res.store ? `${res.store.blockBytesPerValue} in blocks, ${res.store.fileBytesPerValue} whole file` : `${res.diskBytesPerValue} on disk after flush`;
  console.log(`| ${name}${res.version ? ` (${res.version})` : ''} | ${res.samplesPerSecond} | ${res.collectorCpuCores ?? res.serverCpuCores} | ${res.samplesPerCpuSecond} | ${ratio} | ${bytes} | \`${cmd}\` |`);
}

console.log('\n| agent benchmark | agent CPU % of a core | children CPU % (fake nvidia-smi) | agent RSS MiB (peak) | command |');
console.log('| --- | --- | --- | --- | --- |');
for (const { name, cmd, res } of rows) {
  if (!('agentCpuPctOfCore' in res)) continue;
  console.log(`| ${name} | ${res.agentCpuPctOfCore} | ${res.childrenCpuPctOfCore} | ${res.agentRssMib} (${res.agentPeakRssMib}) | \`${cmd}\` |`);
}
console.log('\n| report benchmark | samples | stages | store write s | report (JSON) s | report CPU s | markdown s | HTML s | peak RSS MiB (JSON / with HTML) | command |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const { name, cmd, res } of rows) {
  if (!('reportJsonS' in res)) continue;
  console.log(`| ${name} | ${res.samples} | ${res.stages} | ${res.storeWriteS} | ${res.reportJsonS} | ${res.reportCpuS} | ${res.markdownS} | ${res.htmlS} | ${res.peakRssMib} / ${res.peakRssWithHtmlMib} | \`${cmd}\` |`);
}
console.log('\n| retention (docs/STORE.md) | bytes per GPU-hour: GPU readings / host+proc share | whole file per GPU-hour after VACUUM | command |');
console.log('| --- | --- | --- | --- |');
for (const { cmd, res } of rows) {
  if (!('diskPerGpuHour' in res)) continue;
  for (const [k, what] of [['raw', 'raw (10 Hz)'], ['oneSecond', '1 s roll-ups'], ['tenSecond', '10 s roll-ups']]) {
    console.log(`| ${what} | ${res.diskPerGpuHour[k].gpuBytesPerGpuHour} / ${res.diskPerGpuHour[k].hostAndProcBytesPerGpuHour} | ${res.fileBytesPerGpuHour[k]} | \`${cmd}\` |`);
  }
  const { withoutPruning: a, whilePruningBacklog: b } = res.ingest;
  console.log(`\n| ingest, ${res.ingest.agents} agents x 8 GPUs x 10 Hz | batch submit→commit p50 / p99 / max ms | prune steps (p50 / max ms) | command |`);
  console.log('| --- | --- | --- | --- |');
  console.log(`| nothing to prune | ${a.batchLatencyMs.p50} / ${a.batchLatencyMs.p99} / ${a.batchLatencyMs.max} | none | \`${cmd}\` |`);
  console.log(`| while pruning ${res.hours} h backlog | ${b.batchLatencyMs.p50} / ${b.batchLatencyMs.p99} / ${b.batchLatencyMs.max} | ${b.pruneSteps} (${b.pruneStepMs.p50} / ${b.pruneStepMs.max}) | \`${cmd}\` |`);
}
console.log('\n| Python client (per call, sender thread running) | median µs | p99 µs | command |');
console.log('| --- | --- | --- | --- |');
for (const { cmd, res } of rows) {
  if (!('mark' in res && 'span' in res)) continue;
  for (const [k, what] of [['mark', 'mark() (one stage mark)'], ['span', 'span() enter+exit, host timing'], ['collective_with_tag', 'traced collective + tag(), host timing'], ['mark_disabled', 'mark() with no agent'], ['span_disabled', 'span() with no agent']]) {
    console.log(`| ${what} | ${res[k].median_us} | ${res[k].p99_us} | \`${cmd}\` |`);
  }
}
