import { describe, expect, it } from 'vitest';
import { captureAsSamples, captureMarks } from '../../../test/helpers/capture.js';
import { DEFAULT_THRESHOLDS } from './thresholds.js';
import { compareReports } from './compare.js';
import { buildReport, type ReportInput } from './report.js';

const input = (host = 'h100', cores?: (t: number) => number): ReportInput => {
  const samples = captureAsSamples(host);
  if (cores) {
    // Workload CPU every 100 ms over the capture, as a proc sampler would report it.
    const ts = samples.filter((s) => s.source === 'host').map((s) => s.t);
    for (const t of ts) samples.push({ t, host, source: 'proc', dur_ms: 100, m: { cpu_cores: cores(t), rss_mib: 4000, threads: 10, procs: 1 } });
    samples.sort((a, b) => a.t - b.t);
  }
  return {
    run: { id: `run-${host}`, kind: 'run', startedAt: samples[0]?.t ?? 0, endedAt: null, exitCode: 0 },
    hosts: [{ host, gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3' }], samples, marks: captureMarks() }],
  };
};

describe('report on the real H100 capture', () => {
  const report = buildReport(input(), DEFAULT_THRESHOLDS);
  const host = report.hosts[0];
  const stage = (name: string) => host?.stages.find((s) => s.name === name);

  it('finds the stages with their real durations', () => {
    expect(host?.stages.map((s) => [s.name, s.depth])).toEqual([['request', 0], ['init', 1], ['t5_encode', 1], ['denoise', 1], ['vae_decode', 1]]);
    expect(stage('init')?.duration_s).toBeCloseTo(26.386, 3);
    expect(stage('t5_encode')?.duration_s).toBeCloseTo(8.969, 3);
    expect(stage('denoise')?.duration_s).toBeCloseTo(13.154, 3);
    expect(stage('vae_decode')?.duration_s).toBeCloseTo(5.119, 3);
    expect(stage('denoise')?.steps).toMatchObject({ stage: 'denoise_step', count: 20 });
    expect(host?.problems).toEqual([]);
  });

  it('calls denoise and VAE decode compute from SM activity, and T5 encoding not', () => {
    const denoise = stage('denoise');
    expect(denoise?.bottleneck).toBe('compute');
    expect(denoise?.shares.compute).toBeGreaterThan(0.95);
    expect(denoise?.gpus[0]?.sm_active_pct?.mean).toBeGreaterThan(85);
    expect(denoise?.gpus[0]?.tensor_active_pct?.mean).toBeGreaterThan(80);
    expect(denoise?.evidence).toMatch(/^GPU 0: compute 99%, host-bound 1%; SM activity 9\d% \(util 9\d%, tensor \d+%\)/);
    const vae = stage('vae_decode');
    expect(vae?.bottleneck).toBe('compute');
    expect(vae?.shares.compute).toBeGreaterThan(0.75);
    // utilization says 100 where SM activity says 86: the report shows both, labelled apart.
    expect(vae?.gpus[0]?.util_pct?.max).toBe(100);
    expect(vae?.gpus[0]?.sm_active_pct?.max).toBeLessThan(100);
    expect(stage('t5_encode')?.bottleneck).not.toBe('compute');
    expect(stage('t5_encode')?.shares.compute).toBe(0);
    expect(stage('t5_encode')?.gpus[0]?.util_pct?.mean).toBeLessThan(10);
    // Shares of the covered time sum to one; the capture covers every stage.
    for (const s of host?.stages ?? []) {
      expect(Object.values(s.shares).reduce((a, b) => a + b, 0), s.name).toBeCloseTo(1, 2);
      expect(s.no_data_s, s.name).toBeLessThan(0.05);
    }
  });

  it('reports memory, power, energy and PyTorch reserved memory per stage', () => {
    const d = stage('denoise');
    expect(d?.gpus[0]?.mem_used_mib.max).toBe(2677);
    expect(stage('vae_decode')?.gpus[0]?.mem_used_mib.max).toBe(2925);
    expect(d?.gpus[0]?.power_w.mean).toBeGreaterThan(300);
    // Energy is power integrated over the stage: near mean power times duration.
    const e = d?.gpus[0]?.energy_j ?? 0;
    expect(e / ((d?.gpus[0]?.power_w.mean ?? 1) * (d?.duration_s ?? 1))).toBeGreaterThan(0.9);
    expect(e / ((d?.gpus[0]?.power_w.mean ?? 1) * (d?.duration_s ?? 1))).toBeLessThan(1.05);
    expect(d?.workload?.torch_reserved_mib.max).toBe(2082);
    expect(stage('vae_decode')?.workload?.torch_reserved_mib.max).toBe(2232);
    expect(d?.samples).toBeGreaterThan(200);
  });

  it('tells a host-bound T5 stage by the workload\'s own CPU', () => {
    const t5 = captureMarks().filter((m) => m.stage === 't5_encode').map((m) => m.t) as [number, number];
    const r = buildReport(input('h100', (t) => (t >= t5[0] && t < t5[1] ? 1.0 : 0.05)), DEFAULT_THRESHOLDS);
    const s = r.hosts[0]?.stages.find((x) => x.name === 't5_encode');
    expect(s?.bottleneck).toBe('host-bound');
    expect(r.hosts[0]?.host_bound_from).toBe('workload cores');
    expect(s?.evidence).toMatch(/^GPU 0: host-bound 9\d%, idle \d%; SM activity 0% \(util 0%, tensor 0%\); the workload kept 1\.00 cores busy$/);
    expect(s?.proc.cpu_cores).toEqual({ mean: 1, max: 1 });
    expect(r.hosts[0]?.stages.find((x) => x.name === 'denoise')?.bottleneck).toBe('compute');
  });

  it('compares two runs stage by stage', () => {
    const a = buildReport(input('host-a'), DEFAULT_THRESHOLDS);
    const slowerInput = input('host-b');
    // Host B: the same run with T5 encoding taking 3.8x as long.
    const marks = slowerInput.hosts[0]?.marks as Array<{ t: number; stage: string; kind: string }>;
    const [b0, b1] = marks.filter((m) => m.stage === 't5_encode').map((m) => m.t) as [number, number];
    const extra = (b1 - b0) * 2.8;
    for (const m of marks) if (m.t >= b1) m.t += extra;
    const rows = compareReports(buildReport(slowerInput, DEFAULT_THRESHOLDS), a);
    const t5 = rows.find((r) => r.stage === 't5_encode');
    expect(t5?.ratio).toBeCloseTo(3.8, 1);
    // Neither run carries a host fingerprint: the explanation says no known host fact differs.
    expect(t5?.text).toMatch(/^T5 encoding: 34\.1 s vs 9\.0 s, 3\.8x, \S+ vs \S+; no host difference known that bears on /);
    expect(rows.find((r) => r.stage === 'init')?.ratio).toBe(1);
  });
});

describe('report on long runs', () => {
  it('handles hundreds of thousands of samples of one series (no argument-spreading limits)', () => {
    const samples = Array.from({ length: 300_000 }, (_, i) => ({ t: 1_000_000 + i * 10, host: 'big', source: 'gpu' as const, gpu: 0, m: { util_pct: i % 100 } }));
    // One late arrival, so the series must be sorted.
    samples.push({ t: 1_000_005, host: 'big', source: 'gpu', gpu: 0, m: { util_pct: 1 } });
    const r = buildReport({ run: { id: 'big', kind: 'run', startedAt: 0, endedAt: null, exitCode: null }, hosts: [{ host: 'big', gpus: [], samples, marks: [{ t: 1_000_000, kind: 'begin', stage: 'all' }, { t: 4_000_000, kind: 'end', stage: 'all' }] }] }, DEFAULT_THRESHOLDS);
    expect(r.hosts[0]?.stages[0]?.gpus[0]?.util_pct?.max).toBe(99);
    expect(r.hosts[0]?.stages[0]?.samples).toBe(300_001);
  });
});
