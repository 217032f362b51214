import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sample, SamplerHealth } from '@stagewatch/shared';
import { FAKE_SMI, FIXTURES, H100 } from '../../../test/helpers/fixtures.js';
import { tempDir } from '../../../test/helpers/agent.js';
import { DEFAULT_FIELDS } from '../nvidia-smi/fields.js';
import { HostSampler } from './host.js';
import { NvidiaSmiSampler } from './nvidia-smi.js';
import { nvmlReplay } from '../../../test/helpers/nvml-replay.js';
import { nvmlDevices } from '../nvml/device.js';
import { NvmlProcesses } from '../nvml/processes.js';
import { ProcTreeSampler } from './proc.js';
import type { Sampler, SamplerContext } from './types.js';

const started: Sampler[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

function collect(sampler: Sampler): Sample[] {
  const out: Sample[] = [];
  started.push(sampler);
  sampler.start((s) => out.push(s));
  return out;
}

const context = (): SamplerContext & { logs: string[]; health: SamplerHealth[] } => {
  const logs: string[] = [];
  const health: SamplerHealth[] = [];
  return { host: 'test-host', log: (m) => logs.push(m), logs, health };
};

describe('NvidiaSmiSampler', () => {
  it('drops a field the driver rejects at run time and samples the rest', async () => {
    // A capture directory whose driver does not know memory.reserved (older drivers do not).
    const dir = path.join(tempDir(), 'h100-staged');
    cpSync(H100, dir, { recursive: true });
    cpSync(path.join(FIXTURES, 'h100-gpm-extra'), path.join(dir, '..', 'h100-gpm-extra'), { recursive: true });
    const help = readFileSync(path.join(dir, 'help-query-gpu.txt'), 'utf8');
    writeFileSync(path.join(dir, 'help-query-gpu.txt'), help.replace('"memory.reserved"', '"memory.reserved_gone"'));
    process.env.STAGEWATCH_FAKE_SMI_DIR = dir;
    process.env.STAGEWATCH_FAKE_SMI_SPEED = '20';
    try {
      const ctx = context();
      const sampler = new NvidiaSmiSampler(ctx, { smiPath: FAKE_SMI, fields: DEFAULT_FIELDS, intervalMs: 100 });
      const out = collect(sampler);
      for (let i = 0; i < 100 && out.length < 5; i++) await sleep(50);
      expect(out.length).toBeGreaterThanOrEqual(5);
      expect(sampler.activeFields()).not.toContain('memory.reserved');
      expect(out[0]?.m).not.toHaveProperty('mem_reserved_mib');
      expect(out[0]?.m).toMatchObject({ util_pct: 0, mem_total_mib: 81559 });
      expect(ctx.logs.join('\n')).toMatch(/dropping field memory.reserved the driver rejects/);
      expect(sampler.health(Date.now())).toMatchObject({ state: 'ok', restarts: 1 });
    } finally {
      delete process.env.STAGEWATCH_FAKE_SMI_DIR;
      delete process.env.STAGEWATCH_FAKE_SMI_SPEED;
    }
  });
});

describe('ProcTreeSampler', () => {
  it('tells a busy workload tree (one core saturated) from an idle one, per process and by its busiest thread', async () => {
    // A parent that sleeps and a child that spins: the tree is about one core busy.
    const parent = spawn(process.execPath, ['-e', `require('child_process').spawn(process.execPath, ['-e', 'for(;;){}'], {stdio: 'inherit', env: {...process.env, RANK: '3'}}); setInterval(() => {}, 1000)`], { stdio: 'ignore', detached: true });
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const busyAll = collect(new ProcTreeSampler(context(), parent.pid as number, 250));
      const idleAll = collect(new ProcTreeSampler(context(), idle.pid as number, 250));
      const tree = (xs: Sample[]): Sample[] => xs.filter((s) => s.pid === undefined);
      // Node takes a while to start the child: wait until the tree holds both, then a few ticks more.
      const both = (): Sample[] => tree(busyAll).filter((s) => s.m.procs === 2);
      for (let i = 0; i < 150 && (both().length < 7 || tree(idleAll).length < 8); i++) await sleep(100);
      const later = both().slice(1);
      expect(later.length).toBeGreaterThanOrEqual(6);
      const mean = (xs: Sample[], k = 'cpu_cores'): number => xs.reduce((a, s) => a + (s.m[k] ?? 0), 0) / xs.length;
      // How much CPU the spinner gets depends on the machine's load (CI machines have two shared
      // cores): the busy tree must stand well clear of the idle one, and stay under one core.
      const idleMean = mean(tree(idleAll).slice(3));
      expect(idleMean).toBeLessThan(0.2);
      expect(mean(later)).toBeGreaterThan(Math.max(0.15, 5 * idleMean));
      expect(mean(later)).toBeLessThan(1.3);
      expect(later[0]?.m.threads).toBeGreaterThan(2);
      // Per process: the spinning child (RANK=3 in its environment) spends its CPU in one thread,
      // so its busiest thread is its whole CPU.
      const child = busyAll.filter((s) => s.pid !== undefined && s.pid !== parent.pid && s.m.thread_max_pct !== undefined);
      expect(child.length).toBeGreaterThan(2);
      expect(Math.abs(mean(child, 'thread_max_pct') - 100 * mean(child))).toBeLessThan(15);
      expect(child.every((s) => s.m.rank === 3 && s.dur_ms !== undefined && s.dur_ms > 0)).toBe(true);
      // The sleeping parent: no RANK, and too idle for its threads to be looked at.
      const parentSamples = busyAll.filter((s) => s.pid === parent.pid);
      expect(parentSamples.length).toBeGreaterThan(2);
      expect(parentSamples.every((s) => s.m.rank === undefined && ((s.m.cpu_cores as number) >= 0.05 || !('thread_max_pct' in s.m)))).toBe(true);
      expect(parentSamples.some((s) => (s.m.cpu_cores as number) < 0.05)).toBe(true);
      // The tree's busiest thread is the child's.
      expect(Math.max(...later.map((s) => s.m.thread_max_pct ?? 0))).toBeCloseTo(Math.max(...child.filter((s) => later.some((t) => t.t === s.t)).map((s) => s.m.thread_max_pct ?? 0)), 5);
    } finally {
      process.kill(-(parent.pid as number), 'SIGKILL'); // the whole group, spinning child included
      idle.kill('SIGKILL');
    }
  });

  it('maps a workload process to the GPU NVML lists it on, with its device memory and SM utilization', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      // The captured running process (pid 1132, 1766 MiB) stands for this child.
      const api = nvmlReplay({ processPid: child.pid as number });
      const gpuProcs = new NvmlProcesses(api, nvmlDevices(api), 100);
      const out = collect(new ProcTreeSampler(context(), child.pid as number, 100, { gpuProcs }));
      for (let i = 0; i < 100 && out.filter((s) => 'gpu_util_pct' in s.m).length < 2; i++) await sleep(50);
      const mine = out.filter((s) => s.pid === child.pid && 'cpu_cores' in s.m);
      expect(mine.at(-1)?.m).toMatchObject({ gpu_index: 0, gpu_mem_mib: 1766 });
      const util = out.filter((s) => 'gpu_util_pct' in s.m);
      expect(util.length).toBeGreaterThanOrEqual(2);
      // NVML's per-process readings come with its own times and its sample period.
      expect(util.every((s) => s.pid === child.pid && s.m.gpu_index === 0 && s.dur_ms === 200 && s.source === 'proc')).toBe(true);
      expect(out.filter((s) => s.pid === undefined).every((s) => !('gpu_index' in s.m))).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports the workload gone, not zero, once it exits', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300)'], { stdio: 'ignore' });
    const ctx = context();
    const sampler = new ProcTreeSampler(ctx, child.pid as number, 100);
    collect(sampler);
    await new Promise((r) => child.on('exit', r));
    for (let i = 0; i < 50 && sampler.health(0).state !== 'down'; i++) await sleep(50);
    expect(sampler.health(0)).toMatchObject({ state: 'down', error: `process ${child.pid} exited` });
  });
});

describe('HostSampler', () => {
  it('samples CPU each tick and memory, load, disk and network once a second, from the real /proc', async () => {
    const ctx = context();
    const out = collect(new HostSampler(ctx, 100));
    for (let i = 0; i < 60 && out.filter((s) => 'load1' in s.m).length < 2; i++) await sleep(50);
    const fast = out.filter((s) => 'cpu_pct' in s.m);
    const slow = out.filter((s) => 'load1' in s.m);
    const m = fast[2]?.m ?? {};
    for (const k of ['cpu_pct', 'cpu_core_max_pct', 'cpu0_pct']) expect(m, k).toHaveProperty(k);
    expect(m.cpu_core_max_pct).toBeGreaterThanOrEqual(m.cpu_pct as number);
    expect(Object.keys(slow[0]?.m ?? {}).sort()).toEqual(['disk_read_mibps', 'disk_write_mibps', 'load1', 'mem_available_mib', 'mem_used_mib', 'net_rx_mibps', 'net_tx_mibps']);
    // Each sample covers the time since the reading before it.
    for (const s of fast.slice(1)) expect(s.dur_ms).toBeGreaterThanOrEqual(50);
    expect(slow[1]?.dur_ms).toBeGreaterThanOrEqual(900);
    expect(fast.length).toBeGreaterThan(slow.length * 5);
  });
});
