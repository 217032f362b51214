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
  it('tells a busy workload tree (one core saturated) from an idle one', async () => {
    // A parent that sleeps and a child that spins: the tree is about one core busy.
    const parent = spawn(process.execPath, ['-e', `require('child_process').spawn(process.execPath, ['-e', 'for(;;){}'], {stdio: 'inherit'}); setInterval(() => {}, 1000)`], { stdio: 'ignore', detached: true });
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const busySamples = collect(new ProcTreeSampler(context(), parent.pid as number, 250));
      const idleSamples = collect(new ProcTreeSampler(context(), idle.pid as number, 250));
      for (let i = 0; i < 100 && (busySamples.length < 8 || idleSamples.length < 8); i++) await sleep(100);
      const later = busySamples.slice(3);
      expect(Math.max(...later.map((s) => s.m.procs ?? 0))).toBe(2);
      const mean = (xs: Sample[]): number => xs.reduce((a, s) => a + (s.m.cpu_cores ?? 0), 0) / xs.length;
      // Bounds are wide because CI machines have two shared cores.
      expect(mean(later)).toBeGreaterThan(0.5);
      expect(mean(later)).toBeLessThan(1.3);
      expect(mean(idleSamples.slice(3))).toBeLessThan(0.2);
      expect(later[0]?.m.threads).toBeGreaterThan(2);
    } finally {
      process.kill(-(parent.pid as number), 'SIGKILL'); // the whole group, spinning child included
      idle.kill('SIGKILL');
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
  it('samples every host metric and each core from the real /proc', async () => {
    const ctx = context();
    const out = collect(new HostSampler(ctx, 100));
    for (let i = 0; i < 50 && out.length < 3; i++) await sleep(50);
    const m = out[2]?.m ?? {};
    for (const k of ['cpu_pct', 'cpu_core_max_pct', 'load1', 'mem_used_mib', 'mem_available_mib', 'disk_read_mibps', 'disk_write_mibps', 'net_rx_mibps', 'net_tx_mibps', 'cpu0_pct']) {
      expect(m, k).toHaveProperty(k);
    }
    expect(m.cpu_core_max_pct).toBeGreaterThanOrEqual(m.cpu_pct as number);
  });
});
