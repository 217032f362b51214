#!/usr/bin/env node
// Agent overhead: the agent process's own CPU and memory while it samples GPU (the replaying fake
// nvidia-smi) and host and streams to a collector. Child processes (nvidia-smi) are counted apart.
//   node test/bench/agent-overhead.mjs --hz 10 [--seconds 20] [--backend nvidia-smi|host-only]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { hz: { type: 'string', default: '10' }, seconds: { type: 'string', default: '20' }, backend: { type: 'string', default: 'nvidia-smi' }, warmup: { type: 'string', default: '3' } } });
const hz = Number(values.hz);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const tck = 100;
const ticks = (pid) => { try { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); } catch { return 0; } };
const status = (pid, key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const children = (pid) => {
  const out = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === pid) out.push(Number(d), ...children(Number(d)));
    } catch {}
  }
  return out;
};

const data = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-bench-'));
const col = spawn(process.execPath, [path.join(root, 'collector/bin/stagewatch-collector.js'), 'serve', '--port', '0', '--data', data], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
const port = await new Promise((resolve) => col.stderr.on('data', (d) => { err += d; const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err); if (m) resolve(Number(m[1])); }));
const env = { ...process.env, STAGEWATCH_NVML_LIB: '/nonexistent', STAGEWATCH_NVIDIA_SMI: values.backend === 'host-only' ? '/nonexistent' : path.join(root, 'test/fake-nvidia-smi/nvidia-smi') };
const agent = spawn(process.execPath, [path.join(root, 'agent/bin/stagewatch-agent.js'), 'daemon', '--collector', `ws://127.0.0.1:${port}`, '--interval-ms', String(Math.round(1000 / hz)), '--spool-dir', mkdtempSync(path.join(os.tmpdir(), 'sw-spool-')), '--gpu-backend', 'nvidia-smi'], { env, stdio: ['ignore', 'ignore', 'ignore'] });
await new Promise((r) => setTimeout(r, warmup * 1000));
const kids0 = children(agent.pid);
const a0 = ticks(agent.pid);
const c0 = kids0.reduce((s, p) => s + ticks(p), 0);
const t0 = Date.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const el = (Date.now() - t0) / 1000;
const a1 = ticks(agent.pid);
const kids1 = children(agent.pid);
const c1 = kids1.reduce((s, p) => s + ticks(p), 0);
const result = {
  hz,
  backend: values.backend,
  seconds,
  agentCpuPctOfCore: Math.round(((a1 - a0) / tck / el) * 1000) / 10,
  childrenCpuPctOfCore: Math.round(((c1 - c0) / tck / el) * 1000) / 10,
  agentRssMib: Math.round(status(agent.pid, 'VmRSS')),
  agentPeakRssMib: Math.round(status(agent.pid, 'VmHWM')),
  children: kids1.length,
};
agent.kill('SIGTERM');
await new Promise((r) => agent.on('exit', r));
col.kill('SIGTERM');
await new Promise((r) => col.on('exit', r));
console.log(JSON.stringify(result));
