import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProbeResultSchema, SampleSchema, SamplerHealthSchema, GPU_METRICS, HOST_METRICS, PROC_METRICS } from '@stagewatch/shared';
import { captureStreamRows } from './helpers/capture.js';
import { fixture } from './helpers/fixtures.js';
import { gpmSamples, gpuQuerySamples, healthOf, runAgent, tempDir } from './helpers/agent.js';
import { DmonParser } from '../agent/src/nvidia-smi/dmon.js';

const FAST = { STAGEWATCH_FAKE_SMI_SPEED: '20' };

describe('stagewatch-agent probe --json against the replayed H100', () => {
  it('prints the contract object', async () => {
    const r = await runAgent(['probe', '--json'], { STAGEWATCH_FAKE_SMI_GPUS: '2', ...FAST });
    expect(r.exitCode).toBe(0);
    const p = ProbeResultSchema.parse(JSON.parse(r.stdout));
    expect(p.nvidiaSmi).toMatchObject({ version: '580.159.04', error: null });
    expect(p.gpus.map((g) => [g.index, g.name, g.memTotalMib, g.migMode])).toEqual([
      [0, 'NVIDIA H100 80GB HBM3', 81559, 'Disabled'],
      [1, 'NVIDIA H100 80GB HBM3', 81559, 'Disabled'],
    ]);
    expect(new Set(p.gpus.map((g) => g.uuid)).size).toBe(2);
    expect(p.gpm).toBe(true);
    expect(p.fields.supported).toContain('utilization.gpu');
    expect(p.fields.unsupported).toEqual([]);
    expect(p.host.cpus).toBeGreaterThan(0);
  });

  it('reports no GPM where dmon prints no GPM columns', async () => {
    const r = await runAgent(['probe', '--json'], { STAGEWATCH_FAKE_SMI_NO_GPM: '1', ...FAST });
    const p = ProbeResultSchema.parse(JSON.parse(r.stdout));
    expect(p.gpm).toBe(false);
    expect(p.gpmError).toMatch(/no GPM columns/);
  });

  it('names the error when nvidia-smi is missing', async () => {
    const r = await runAgent(['probe', '--json'], { STAGEWATCH_NVIDIA_SMI: '/nonexistent/nvidia-smi' });
    const p = ProbeResultSchema.parse(JSON.parse(r.stdout));
    expect(p.nvidiaSmi.error).toBe('nvidia-smi not found');
    expect(p.gpus).toEqual([]);
  });
});

describe('stagewatch-agent sample against the replayed H100', () => {
  it('yields the capture\'s values, in order, for every GPU, from one long-running nvidia-smi', async () => {
    const state = tempDir();
    // The workload: a process that keeps one thread busy.
    const workload = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    const r = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '4', '--pid', String(workload.pid)], {
      STAGEWATCH_FAKE_SMI_GPUS: '2',
      STAGEWATCH_FAKE_SMI_STATE: state,
      ...FAST,
    }).finally(() => workload.kill('SIGKILL'));
    expect(r.exitCode).toBe(0);
    for (const l of r.lines) {
      if (l.source === 'health') SamplerHealthSchema.parse(l);
      else SampleSchema.parse(l);
    }
    const rows = captureStreamRows();
    for (const gpu of [0, 1]) {
      const got = gpuQuerySamples(r.lines, gpu);
      expect(got.length).toBeGreaterThan(20);
      got.forEach((s, i) => {
        const raw = rows[i % rows.length] as Record<string, string>;
        expect(s.m).toMatchObject({
          util_pct: Number(raw['utilization.gpu']),
          mem_util_pct: Number(raw['utilization.memory']),
          mem_used_mib: Number(raw['memory.used']),
          mem_total_mib: Number(raw['memory.total']),
          power_w: Number(raw['power.draw']),
          temp_c: Number(raw['temperature.gpu']),
          sm_clock_mhz: Number(raw['clocks.current.sm']),
        });
        expect(Object.keys(s.m ?? {}).every((k) => k in GPU_METRICS)).toBe(true);
      });
      // The replay reaches denoise at 20x: utilization 100 is there, as captured.
      expect(got.some((s) => s.m?.util_pct === 100)).toBe(true);

      const parser = new DmonParser();
      const dmonRows = fixture('dmon-gpm.txt').split('\n').map((l) => parser.line(l)).flatMap((x) => (x.kind === 'row' && Object.keys(x.row.m).length > 0 ? [x.row.m] : []));
      const gpm = gpmSamples(r.lines, gpu);
      expect(gpm.length).toBeGreaterThan(10);
      gpm.forEach((s, i) => expect(s.m).toEqual(dmonRows[i % dmonRows.length]));
    }
    const invocations = readFileSync(path.join(state, 'invocations.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { args: string[] });
    expect(invocations.filter((i) => i.args.includes('-lms'))).toHaveLength(1);

    // Host CPU every tick; memory, load, disk and network once a second: every host key, each sample its interval.
    const host = r.lines.filter((l) => l.source === 'host');
    expect(host.filter((l) => l.m && 'cpu_pct' in l.m).length).toBeGreaterThan(20);
    for (const k of Object.keys(HOST_METRICS)) expect(host.some((l) => l.m && k in l.m), k).toBe(true);
    expect(host[0]?.m).toHaveProperty('cpu0_pct');
    expect(host.every((l) => (l.dur_ms ?? 0) > 0)).toBe(true);
    // The workload tree as a total, and its process on its own, with its busiest thread.
    const proc = r.lines.filter((l) => l.source === 'proc');
    const tree = proc.filter((l) => l.pid === undefined);
    expect(tree.length).toBeGreaterThan(20);
    for (const k of ['cpu_cores', 'rss_mib', 'threads', 'procs'] as const) expect(tree.at(-1)?.m, k).toHaveProperty(k);
    expect(tree.some((l) => l.m && 'thread_max_pct' in l.m)).toBe(true);
    expect(tree.at(-1)?.m?.rss_mib).toBeGreaterThan(10);
    const mine = proc.filter((l) => l.pid === workload.pid);
    expect(mine.length).toBeGreaterThan(20);
    expect(mine.some((l) => l.m && 'thread_max_pct' in l.m)).toBe(true);
    expect(Object.keys(mine.at(-1)?.m ?? {}).every((k) => k in PROC_METRICS)).toBe(true);
    expect(gpuQuerySamples(r.lines, 0).every((l) => (l.dur_ms ?? 0) > 0)).toBe(true);

    const gpuHealth = healthOf(r.lines, 'gpu.nvidia-smi').at(-1);
    expect(gpuHealth).toMatchObject({ restarts: 0, absent: { fan_pct: { '[N/A]': expect.any(Number) } } });
  });

  it('falls back to nvidia-smi, saying why, where NVML does not load', async () => {
    const r = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '1.5'], { STAGEWATCH_NVML_LIB: '/nonexistent/libnvidia-ml.so.1', ...FAST });
    expect(r.stderr).toMatch(/NVML unavailable \(cannot load \/nonexistent\/libnvidia-ml\.so\.1: .*\); sampling GPUs through nvidia-smi/);
    expect(gpuQuerySamples(r.lines, 0).length).toBeGreaterThan(3);
    expect(healthOf(r.lines, 'gpu.nvidia-smi').length).toBeGreaterThan(0);
    const forced = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '1', '--gpu-backend', 'nvml'], { STAGEWATCH_NVML_LIB: '/nonexistent/libnvidia-ml.so.1' });
    expect(forced.stderr).toMatch(/WARNING: --gpu-backend nvml, but NVML is unavailable/);
    expect(forced.lines.some((l) => l.source === 'gpu')).toBe(false);
    expect(forced.lines.some((l) => l.source === 'host')).toBe(true);
  });

  it('never reports utilization as SM activity when the GPU has no GPM', async () => {
    const r = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '2'], { STAGEWATCH_FAKE_SMI_NO_GPM: '1', ...FAST });
    expect(r.exitCode).toBe(0);
    expect(gpuQuerySamples(r.lines, 0).length).toBeGreaterThan(5);
    expect(r.lines.some((l) => l.m && 'sm_active_pct' in l.m)).toBe(false);
    expect(r.stderr).toMatch(/GPM not available/);
  });
});

describe('stagewatch-agent sample when nvidia-smi misbehaves', () => {
  it('degrades to host-only sampling, loudly, when nvidia-smi is missing', async () => {
    const r = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '2'], { STAGEWATCH_NVIDIA_SMI: '/nonexistent/nvidia-smi' });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/WARNING: GPU sampling unavailable \(nvidia-smi not found\)/);
    expect(r.lines.filter((l) => l.source === 'host').length).toBeGreaterThan(10);
    expect(r.lines.some((l) => l.source === 'gpu')).toBe(false);
    expect(healthOf(r.lines, 'gpu.nvidia-smi').some((h) => h.state === 'degraded' && h.error === 'nvidia-smi not found')).toBe(true);
  });

  it('keeps host sampling when the driver finds no devices', async () => {
    const r = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '2'], { STAGEWATCH_FAKE_SMI_FAIL: 'no-gpu' });
    expect(r.stderr).toMatch(/No devices were found \(exit 6\)/);
    expect(r.lines.filter((l) => l.source === 'host').length).toBeGreaterThan(10);
    expect(healthOf(r.lines, 'gpu.nvidia-smi').some((h) => h.error === 'No devices were found (exit 6)')).toBe(true);
  });

  it.each([
    ['hang:5', /no output for \d+ ms/],
    ['garbage:5', /unparseable output/],
    ['no-gpu:5', /No devices were found \(exit 6\)/],
  ])('restarts nvidia-smi after %s and samples again', async (mode, reason) => {
    const r = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '6'], {
      STAGEWATCH_FAKE_SMI_FAIL: mode,
      STAGEWATCH_FAKE_SMI_FAIL_TIMES: '1',
      STAGEWATCH_FAKE_SMI_STATE: tempDir(),
      ...FAST,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(reason);
    const health = healthOf(r.lines, 'gpu.nvidia-smi');
    expect(health.some((h) => h.state === 'degraded' && reason.test(h.error ?? ''))).toBe(true);
    expect(health.at(-1)?.restarts).toBe(1);
    const samples = gpuQuerySamples(r.lines, 0);
    // Five rows before the failure, then the replay starts over from its first row.
    expect(samples.length).toBeGreaterThan(10);
    expect(samples[5]?.m).toEqual(samples[0]?.m);
    expect(r.lines.filter((l) => l.source === 'host').length).toBeGreaterThan(20);
  });
});

describe('stagewatch-agent flags', () => {
  it.each([
    [['sample', '--duration-s', '1', '--bogus'], /stagewatch-agent sample: Unknown option '--bogus'/],
    [['sample', '--interval-ms', 'abc', '--duration-s', '1'], /--interval-ms must be an integer from 10 to 60000 \(got "abc"\)/],
    [['sample', '--interval-ms', '100'], /--duration-s is required/],
    [['sample', '--duration-s', '-3'], /Option '--duration-s' argument is ambiguous/],
    [['sample', '--duration-s=-3'], /--duration-s must be a number from 0.1 to \d+ \(got "-3"\)/],
    [['sample', '--duration-s', '1', '--pid', '999999999'], /--pid must be an integer/],
    [['sample', '--duration-s', '1', '--pid', '4194000'], /--pid 4194000: no such process/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['sample', '--duration-s', '1', '--gpu-backend', 'dcgm'], /--gpu-backend must be one of auto, nvml, nvidia-smi \(got "dcgm"\)/],
  ])('%j exits 2 with one line naming the problem', async (args, message) => {
    const r = await runAgent(args as string[]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
