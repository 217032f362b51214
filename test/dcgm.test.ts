import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN } from './helpers/fixtures.js';
import type { Line } from './helpers/agent.js';
import { useScratch } from './helpers/scratch.js';
import { buildStandin, expectedMetrics, replayRows, writeReplay } from './helpers/dcgm-standin.js';
import { COLLECTOR_BIN, startCollectorProc, waitFor } from './helpers/processes.js';

// The DCGM path runs here against a stand-in libdcgm built from C with DCGM's ABI (see
// test/dcgm-standin/); it has not run against a real libdcgm (docs/DCGM.md).
const tmp = useScratch('stagewatch-dcgm-');

let lib = '';
const rows = replayRows();
let replay = '';
beforeAll(() => {
  const d = tmp();
  lib = buildStandin(d);
  replay = writeReplay(d, rows);
});

/** No NVML and no nvidia-smi here: only DCGM can give GPU metrics. */
function env(log: string, extra: Record<string, string> = {}): Record<string, string> {
  return { STAGEWATCH_NVML_LIB: '/nonexistent/libnvidia-ml.so.1', STAGEWATCH_NVIDIA_SMI: '/nonexistent', STAGEWATCH_DCGM_LIB: lib, STANDIN_DCGM_LOG: log, STANDIN_DCGM_REPLAY: replay, ...extra };
}
const calls = (log: string): string[] => readFileSync(log, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('dcgmGetLatestValues_v2'));
const parse = (stdout: string): Line[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

describe('SM activity through DCGM (stand-in libdcgm built from C)', () => {
  it('embedded when no nv-hostengine runs: watches the profiling fields, replays them as %/MiB/s, releases on stop', async () => {
    const log = path.join(tmp(), 'calls.log');
    const r = await execa(process.execPath, [AGENT_BIN, 'sample', '--interval-ms', '50', '--duration-s', '1.6'], { env: env(log, { STANDIN_DCGM_GPUS: '2' }) });
    expect(String(r.stderr)).toMatch(/SM activity through DCGM profiling \(embedded host engine, .*libdcgm\.so\.4\) on GPU\(s\) 0, 1, every 100 ms/);
    expect(String(r.stderr)).toMatch(/Nsight cannot profile meanwhile; SIGUSR2 pauses and resumes it/);
    const c = calls(log);
    expect(c.slice(0, 9)).toEqual([
      'dcgmInit',
      'dcgmConnect_v2 127.0.0.1 timeoutMs=1000 unix=0 persist=0',
      'dcgmStartEmbedded opMode=1',
      'dcgmGetAllSupportedDevices 2',
      expect.stringMatching(/^dcgmGroupCreate type=1 name=stagewatch-\d+$/),
      'dcgmGroupAddDevice 0',
      'dcgmGroupAddDevice 1',
      expect.stringMatching(/^dcgmFieldGroupCreate name=stagewatch-prof-\d+ fields=1002,1003,1004,1005,1009,1010,1011,1012$/),
      // 50 ms asked, DCGM's floor is 100 ms; two samples kept for 1 s.
      'dcgmWatchFields group=7 fields=9 updateFreq=100000 maxKeepAge=1.0 maxKeepSamples=2',
    ]);
    expect(c.slice(-5)).toEqual(['dcgmUnwatchFields group=7 fields=9', 'dcgmFieldGroupDestroy 9', 'dcgmGroupDestroy 7', 'dcgmStopEmbedded ok', 'dcgmShutdown']);
    for (const gpu of [0, 1]) {
      const s = parse(String(r.stdout)).filter((l) => l.source === 'gpu' && l.gpu === gpu);
      expect(s.length).toBeGreaterThan(5);
      // Each reading is DCGM's own: stamped on its 100 ms grid, covering the 100 ms before, and each row of the replay in turn.
      const t0 = s[0]?.t as number;
      const k = s.map((x) => Math.round((x.t - t0) / 100));
      s.forEach((x, i) => expect(Math.abs(x.t - t0 - (k[i] as number) * 100)).toBeLessThanOrEqual(1));
      expect((s[0] as Line & { dur_ms?: number }).dur_ms).toBe(100);
      const first = rows.findIndex((_, r0) => s.every((x, i) => JSON.stringify(x.m) === JSON.stringify(expectedMetrics(rows[Math.min(rows.length - 1, r0 + (k[i] as number))] as never))));
      expect(first, JSON.stringify(s.slice(0, 3))).toBeGreaterThanOrEqual(0);
    }
    // The H100 capture's denoise read 90%+ SM activity through GPM; the same numbers come through DCGM.
    expect(Math.max(...parse(String(r.stdout)).map((l) => l.m?.sm_active_pct ?? 0))).toBeGreaterThan(90);
  });

  it('connects to a running nv-hostengine first; probe says SM activity comes from DCGM', async () => {
    const log = path.join(tmp(), 'calls.log');
    const p = await execa(process.execPath, [AGENT_BIN, 'probe', '--json'], { env: env(log, { STANDIN_DCGM_HOSTENGINE: '1' }) });
    const probe = JSON.parse(String(p.stdout)) as { smActivity: string; dcgm: { active: boolean; mode: string; gpus: number[]; error: string | null } };
    expect(probe.smActivity).toBe('dcgm');
    expect(probe.dcgm).toMatchObject({ active: true, mode: 'hostengine', gpus: [0], error: null });
    expect(calls(log)).toContain('dcgmDisconnect ok');
    expect(calls(log)).not.toContain('dcgmStartEmbedded opMode=1');
    const text = await execa(process.execPath, [AGENT_BIN, 'probe'], { env: env(path.join(tmp(), 'c.log'), { STANDIN_DCGM_HOSTENGINE: '1' }) });
    expect(String(text.stdout)).toMatch(/^DCGM {6}profiling through nv-hostengine \(.*\) on GPU\(s\) 0$/m);
    expect(String(text.stdout)).toMatch(/^SM activity from dcgm$/m);
  });

  it('says why not where DCGM cannot profile these GPUs, and --no-dcgm leaves it alone', async () => {
    const log = path.join(tmp(), 'calls.log');
    const p = await execa(process.execPath, [AGENT_BIN, 'probe', '--json'], { env: env(log, { STANDIN_DCGM_PROFILING: 'unsupported' }) });
    const probe = JSON.parse(String(p.stdout)) as { smActivity: string; dcgm: { active: boolean; error: string } };
    expect(probe.smActivity).toBe('none');
    expect(probe.dcgm.active).toBe(false);
    expect(probe.dcgm.error).toMatch(/^dcgmWatchFields: profiling is not supported on these GPUs/);
    // What it created before the refusal is released.
    expect(calls(log).slice(-4)).toEqual(['dcgmFieldGroupDestroy 9', 'dcgmGroupDestroy 7', 'dcgmStopEmbedded ok', 'dcgmShutdown']);
    const offLog = path.join(tmp(), 'off.log');
    const off = await execa(process.execPath, [AGENT_BIN, 'probe', '--json', '--no-dcgm'], { env: env(offLog) });
    expect((JSON.parse(String(off.stdout)) as { dcgm: { error: string } }).dcgm.error).toBe('off (--no-dcgm)');
    expect(() => readFileSync(offLog)).toThrow();
  });

  it('SIGUSR2 pauses profiling (Nsight can profile) and resumes it; health says so meanwhile', async () => {
    const log = path.join(tmp(), 'calls.log');
    const child = execa(process.execPath, [AGENT_BIN, 'sample', '--interval-ms', '100', '--duration-s', '30'], { env: env(log), reject: false });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const gpuLines = (): number => parse(out.slice(0, out.lastIndexOf('\n') + 1)).filter((l) => l.source === 'gpu').length;
    await waitFor('DCGM samples', () => gpuLines() >= 3);
    child.kill('SIGUSR2');
    await waitFor('the pause', () => /DCGM profiling paused \(dcgmProfPause\): Nsight can profile now/.test(err));
    await waitFor('a health line saying so', () => parse(out.slice(0, out.lastIndexOf('\n') + 1)).some((l) => l.sampler === 'gpu.dcgm' && l.state === 'degraded' && /^paused on request \(SIGUSR2\)/.test(l.error ?? '')));
    const during = gpuLines();
    child.kill('SIGUSR2');
    await waitFor('the resume', () => /DCGM profiling resumed/.test(err));
    await waitFor('samples again', () => gpuLines() > during);
    child.kill('SIGTERM');
    await child;
    expect(calls(log).filter((l) => /Prof/.test(l))).toEqual(['dcgmProfPause', 'dcgmProfResume']);
  });

  it('the report names DCGM as the source of SM activity', async () => {
    const data = tmp();
    const col = await startCollectorProc(data);
    try {
      const d = execa(process.execPath, [AGENT_BIN, 'daemon', '--collector', col.url.replace('http', 'ws'), '--run-id', 'dcgm-run', '--interval-ms', '100', '--spool-dir', tmp()], { env: env(path.join(tmp(), 'c.log')), reject: false });
      await waitFor('stored DCGM samples', async () => {
        const r = await fetch(`${col.url}/api/runs`);
        return ((await r.json()) as Array<{ id: string }>).some((x) => x.id === 'dcgm-run') && (await new Promise((res) => setTimeout(res, 800, true)));
      });
      d.kill('SIGTERM');
      await d;
      const rep = JSON.parse(String((await execa(process.execPath, [COLLECTOR_BIN, 'report', 'dcgm-run', '--format', 'json', '--data', data])).stdout)) as { hosts: Array<{ sm_activity: string; gpm: boolean }> };
      expect(rep.hosts[0]?.sm_activity).toBe('dcgm');
      const md = String((await execa(process.execPath, [COLLECTOR_BIN, 'report', 'dcgm-run', '--data', data])).stdout);
      expect(md).toMatch(/SM activity from DCGM profiling \(no GPM on these GPUs\)/);
    } finally {
      col.proc.kill('SIGKILL');
    }
  });
});
