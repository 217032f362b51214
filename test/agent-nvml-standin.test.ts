import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeResultSchema, SampleSchema } from '@stagewatch/shared';
import { runAgent, tempDir, type Line } from './helpers/agent.js';
import { buildStandin, replayRows, writeReplay } from './helpers/dcgm-standin.js';
import { ROOT } from './helpers/fixtures.js';

/**
 * The agent's NVML path through real koffi calls into a shared library with NVML's ABI (built
 * here from test/nvml-standin/libnvidia-ml.c), answering with the captured H100's readings: the
 * bindings' Buffers, in/out counts, 64-bit timestamps and async calls, end to end through the CLI.
 */
let dir = '';
let lib = '';
let workload: ChildProcess;
beforeAll(async () => {
  dir = tempDir();
  lib = path.join(dir, 'libnvidia-ml.so.1');
  await execa('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', lib, path.join(ROOT, 'test', 'nvml-standin', 'libnvidia-ml.c')]);
  workload = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', env: { ...process.env, RANK: '5' } });
});
afterAll(() => {
  workload.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}): Record<string, string> => ({ STAGEWATCH_NVML_LIB: lib, STANDIN_PID: String(workload.pid), ...extra });
const gpu = (lines: Line[], key: string): Line[] => lines.filter((l) => l.source === 'gpu' && l.m && key in l.m);

describe('the NVML path against a library with NVML\'s ABI', () => {
  it('samples utilization with NVML\'s times, GPM within its budget, link capacity and the workload\'s GPU', async () => {
    // STANDIN_PROC_UTIL_MIN: the stand-in asks for more room than 64 process samples, as the H100 did.
    const r = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '3', '--pid', String(workload.pid)], env({ STANDIN_PROC_UTIL_MIN: '100' }));
    expect(r.exitCode).toBe(0);
    for (const l of r.lines) if (l.source !== 'health') SampleSchema.parse(l);
    expect(r.stderr).toMatch(/GPU backend: NVML \(driver 580\.159\.04\), 1 GPU\(s\), GPM on 1/);
    expect(r.stderr).toMatch(/GPU 0 GPM: nvmlGpmMetricsGet [\d.]+ ms for 9 metrics/);
    const util = gpu(r.lines, 'util_pct');
    expect(util.length).toBeGreaterThan(8);
    expect(util.every((l) => l.dur_ms === 200 && l.t % 200 === 0 && l.m?.util_pct === 100)).toBe(true);
    expect(util.some((l) => l.m?.mem_util_pct === 31)).toBe(true);
    const ticks = gpu(r.lines, 'mem_used_mib');
    expect(ticks.length).toBeGreaterThan(20);
    expect(ticks.every((l) => l.m?.mem_used_mib === 1766 && (l.dur_ms as number) >= 50)).toBe(true);
    const second = gpu(r.lines, 'power_w');
    expect(second[0]?.m).toMatchObject({ power_w: 690, power_limit_w: 700, pcie_capacity_mibps: 60096.15, mem_total_mib: 81559 });
    expect(r.lines.some((l) => l.m && 'nvlink_capacity_mibps' in l.m)).toBe(false);
    const gpm = gpu(r.lines, 'sm_active_pct');
    expect(gpm.length).toBeGreaterThanOrEqual(3);
    expect(gpm.every((l) => l.m?.sm_active_pct === 96 && l.m?.tensor_active_pct === 93 && (l.dur_ms as number) >= 90)).toBe(true);
    // Stamped with the driver's refresh times read from the sample (0.25 ms past the 100 ms grid in
    // the stand-in) less the counters' 60 ms lag, in whole ms; never a 0 from one refresh twice.
    expect(gpm.every((l) => (l.t + 60) % 100 === 0 && (l.dur_ms as number) % 100 === 0)).toBe(true);
    // The workload's process, mapped to GPU 0 with its memory, its RANK and NVML's utilization of it.
    const mine = r.lines.filter((l) => l.source === 'proc' && l.pid === workload.pid);
    expect(mine.find((l) => l.m && 'cpu_cores' in l.m)?.m).toMatchObject({ gpu_index: 0, gpu_mem_mib: 1766, rank: 5 });
    const pu = mine.filter((l) => l.m && 'gpu_util_pct' in l.m);
    expect(pu.length).toBeGreaterThan(3);
    expect(pu.every((l) => l.m?.gpu_util_pct === 97 && l.dur_ms === 200)).toBe(true);
  });

  it('says in probe what NVML gives here', async () => {
    const r = await runAgent(['probe', '--json'], env());
    const p = ProbeResultSchema.parse(JSON.parse(r.stdout));
    expect(p.gpuCaps).toEqual([{ index: 0, gpm: true, utilSamples: true, nvlinkActiveLinks: null, nvlinkCapacityMibps: null, pcieCapacityMibps: 60096.15, linkRates: 'gpm' }]);
    expect(p.perProcess).toMatchObject({ gpu: true, gpuProcessesListed: 1, gpuError: null });
  });

  it('on a GPU without GPM: PCIe rates from byte counters, or from nvmlDeviceGetPcieThroughput off the event loop', async () => {
    const counters = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '1.5'], env({ STANDIN_GPM: '0' }));
    // Read as often as their cost allows (0.1 % of a core), each over the time since the last read.
    const tick = gpu(counters.lines, 'pcie_rx_mibps');
    expect(tick.length).toBeGreaterThanOrEqual(3);
    expect(tick.every((l) => (l.dur_ms as number) >= 90)).toBe(true);
    // q-under-load.xml's rx_util 9608233 KB/s, over each tick.
    expect(tick.at(-1)?.m?.pcie_rx_mibps).toBeCloseTo(9608233 / 1024, -2);
    expect(counters.lines.some((l) => l.m && 'sm_active_pct' in l.m)).toBe(false);
    const probe = ProbeResultSchema.parse(JSON.parse((await runAgent(['probe', '--json'], env({ STANDIN_GPM: '0' }))).stdout));
    expect(probe.gpuCaps?.[0]?.linkRates).toBe('nvml-counters');
    const old = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '2.5'], env({ STANDIN_GPM: '0', STANDIN_COUNTERS: '0' }));
    const tx = gpu(old.lines, 'pcie_tx_mibps');
    expect(tx.length).toBeGreaterThanOrEqual(2);
    expect(tx.every((l) => l.dur_ms === 20 && l.m?.pcie_tx_mibps === Math.round((851322 / 1024) * 100) / 100)).toBe(true);
    // The 20 ms calls ran on koffi's worker thread: the ticks kept their pace.
    expect(gpu(old.lines, 'mem_used_mib').length).toBeGreaterThan(20);
  });

  it('on a GPU without GPM where DCGM profiles it: PCIe rates from DCGM alone, not a second series from NVML counters', async () => {
    // The stand-in libdcgm (test/dcgm-standin/) replaying the H100 capture's rows that have link columns.
    const dcgmLib = buildStandin(dir);
    const replay = writeReplay(dir, replayRows().filter((r) => r.cols[4] !== null));
    const both = env({ STANDIN_GPM: '0', STAGEWATCH_DCGM_LIB: dcgmLib, STANDIN_DCGM_REPLAY: replay });
    const r = await runAgent(['sample', '--interval-ms', '100', '--duration-s', '1.5'], both);
    expect(r.stderr).toMatch(/SM activity through DCGM profiling .* on GPU\(s\) 0/);
    const pcie = gpu(r.lines, 'pcie_rx_mibps');
    expect(pcie.length).toBeGreaterThanOrEqual(3);
    // Each from a DCGM reading (with its SM activity, over DCGM's 100 ms watch), none at the stand-in NVML counters' 9383 MiB/s.
    expect(pcie.every((l) => l.m !== undefined && 'sm_active_pct' in l.m && l.dur_ms === 100 && (l.m.pcie_rx_mibps as number) < 1000)).toBe(true);
    const probe = ProbeResultSchema.parse(JSON.parse((await runAgent(['probe', '--json'], both)).stdout));
    expect(probe).toMatchObject({ smActivity: 'dcgm', dcgm: { active: true, gpus: [0] } });
    expect(probe.gpuCaps?.[0]?.linkRates).toBe('dcgm');
  });
});
