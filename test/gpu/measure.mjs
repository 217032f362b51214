#!/usr/bin/env node
// On a GPU machine: runs `agent sample` for each backend and rate at once, and reports each agent
// process's CPU and memory (its children, nvidia-smi, apart) over the steady part of the run.
// With LOAD.py (test/gpu/torch_load.py) it also starts that CUDA load and a daemon that samples its
// process tree (per-process samples, busiest thread, GPU per process): the agent as used in a run.
//   node measure.mjs AGENT.mjs OUTDIR SECONDS [LOAD.py]
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [agent, out, secondsArg, loadPy] = process.argv.slice(2);
const seconds = Number(secondsArg ?? '60');
let loadPid = null;
let load = null;
if (loadPy) {
  load = spawn('python3', [loadPy, String(seconds + 20)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RANK: '0', LOCAL_RANK: '0', LIGHT: '1' } });
  loadPid = await new Promise((resolve) => load.stdout.once('data', (d) => resolve(Number(String(d).split('\n')[0]))));
}
const ticks = (pid) => { try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); } catch { return 0; } };
const kb = (pid, key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const kids = (pid) => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => { try { return Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === pid ? [Number(d), ...kids(Number(d))] : []; } catch { return []; } });
const collector = process.env.STAGEWATCH_COLLECTOR;
const runs = [
  ['nvml-10hz', 'nvml', 100], ['smi-10hz', 'nvidia-smi', 100], ['nvml-1hz', 'nvml', 1000], ['smi-1hz', 'nvidia-smi', 1000], ['nvml-50hz', 'nvml', 20],
  // The agent as deployed (a daemon streaming to the collector), and the same with no GPU sampling at all.
  ['daemon-nvml-10hz', 'nvml', 100, 'daemon'], ['daemon-host-only-10hz', 'nvml', 100, 'daemon', { STAGEWATCH_NVML_LIB: '/nonexistent' }],
  ...(loadPid ? [['daemon-nvml-10hz-workload-tree', 'nvml', 100, 'daemon', {}, loadPid]] : []),
  // MEASURE_ONLY=name,name picks runs; MEASURE_NODE_ARGS adds node flags (e.g. --cpu-prof) to each.
].filter(([name]) => !process.env.MEASURE_ONLY || process.env.MEASURE_ONLY.split(',').includes(name)).map(([name, backend, ms, mode = 'sample', env = {}, pid = null]) => {
  const args = mode === 'sample'
    ? ['sample', '--gpu-backend', backend, '--interval-ms', String(ms), '--duration-s', String(seconds + 8)]
    : ['daemon', '--collector', collector, '--run-id', name, '--gpu-backend', backend, '--interval-ms', String(ms), '--spool-dir', `/tmp/spool-${name}`, ...(pid ? ['--pid', String(pid)] : [])];
  const p = spawn(process.execPath, [...(process.env.MEASURE_NODE_ARGS ?? '').split(' ').filter(Boolean).map((a) => a.replace('NAME', name)), agent, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  p.stdout.pipe(createWriteStream(path.join('/tmp', `${name}.jsonl`)));
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  return { name, backend, ms, p, err: () => err };
});
await new Promise((r) => setTimeout(r, 5000));
const t0 = Date.now();
const start = runs.map((r) => ({ a: ticks(r.p.pid), c: kids(r.p.pid).reduce((s, k) => s + ticks(k), 0) }));
await new Promise((r) => setTimeout(r, seconds * 1000));
const el = (Date.now() - t0) / 1000;
const result = runs.map((r, i) => {
  const c = kids(r.p.pid);
  return {
    name: r.name, backend: r.backend, hz: 1000 / r.ms, seconds: Math.round(el),
    agentCpuPctOfCore: Math.round(((ticks(r.p.pid) - start[i].a) / 100 / el) * 1000) / 10,
    childrenCpuPctOfCore: Math.round(((c.reduce((s, k) => s + ticks(k), 0) - start[i].c) / 100 / el) * 1000) / 10,
    children: c.length, agentRssMib: Math.round(kb(r.p.pid, 'VmRSS') / 1024), agentPeakRssMib: Math.round(kb(r.p.pid, 'VmHWM') / 1024),
    stderr: r.err().split('\n').filter(Boolean).slice(0, 6),
  };
});
for (const r of runs) if (r.name.startsWith('daemon')) r.p.kill('SIGTERM');
await Promise.all(runs.map((r) => new Promise((res) => r.p.on('exit', res))));
load?.kill('SIGTERM');
writeFileSync(path.join(out, 'overhead.json'), JSON.stringify(result, null, 1));
console.log(JSON.stringify(result, null, 1));
