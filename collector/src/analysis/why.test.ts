import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostFingerprint } from '@stagewatch/shared';
import { captureAsSamples, captureMarks } from '../../../test/helpers/capture.js';
import { DEFAULT_THRESHOLDS } from './thresholds.js';
import { compareReports } from './compare.js';
import { buildReport, type Report, type StageReport } from './report.js';
import { DIFFERS_RATIO, explain, explanationText, stageDiffers, type Identity } from './why.js';

const FP = path.resolve(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'fingerprints');
const fp = (f: string): HostFingerprint => (JSON.parse(readFileSync(path.join(FP, f), 'utf8')) as { fingerprint: HostFingerprint }).fingerprint;
const devbox: Identity = { host: fp('devbox.json'), workload: { python: '3.11.2', torch: '2.4.1', cuda_runtime: '12.4', torch_threads: 2 } };
const h100: Identity = { host: fp('h100-staged.json'), workload: { python: '3.12.3', torch: '2.4.1', cuda_runtime: '12.4', torch_threads: 16 } };

const report = (host: string, identity: Identity): Report => {
  const samples = captureAsSamples(host);
  return buildReport(
    {
      run: { id: `run-${host}`, kind: 'run', startedAt: samples[0]?.t ?? 0, endedAt: null, exitCode: 0 },
      hosts: [{ host, gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3' }], samples, marks: captureMarks(), fingerprint: identity }],
    },
    DEFAULT_THRESHOLDS,
  );
};
const stage = (r: Report, name: string): StageReport => r.hosts[0]?.stages.find((s) => s.name === name) as StageReport;
const as = (s: StageReport, bottleneck: string): StageReport => ({ ...s, bottleneck: bottleneck as StageReport['bottleneck'] });

describe('when a stage differs between hosts', () => {
  it('is a ratio of DIFFERS_RATIO (1.1) either way', () => {
    expect(DIFFERS_RATIO).toBe(1.1);
    expect([1.1, 1.09, 1 / 1.1, 0.92, 1, null].map(stageDiffers)).toEqual([true, false, true, false, false, false]);
  });
});

describe('explain: the host facts and figures bearing on the label', () => {
  const r = report('h100', devbox);
  const t5 = stage(r, 't5_encode');

  it('host-bound: CPU, clocks, topology, torch threads, NUMA, Python/torch; the workload\'s and host\'s CPU figures', () => {
    const e = explain(as(t5, 'host-bound'), as(t5, 'host-bound'), devbox, h100);
    expect(e.labels).toEqual(['host-bound']);
    expect(e.fingerprint).toEqual([
      { what: 'CPU', a: 'AMD EPYC', b: 'unknown' },
      { what: 'CPU sockets/cores/threads', a: '1/2/2', b: '?/?/16' },
      { what: 'torch CPU threads', a: '2', b: '16' },
      { what: 'NUMA nodes', a: '1', b: 'unknown' },
      { what: 'Python', a: '3.11.2', b: '3.12.3' },
    ]);
    // Both unknown (clocks in a VM) is left out; equal is said.
    expect(e.same).toEqual(['torch']);
    // The capture has no workload samples: figures null on both hosts are left out.
    expect(e.metrics).toEqual([{ what: 'busiest host core', a: '98%', b: '98%' }]);
    const busy = { ...t5, bottleneck: 'host-bound' as const, proc: { ...t5.proc, thread_max_pct: { mean: 99.6, max: 100 }, cpu_cores: { mean: 1.02, max: 1.1 } } };
    expect(explain(busy, as(t5, 'host-bound'), devbox, h100).metrics).toEqual([
      { what: 'busiest workload thread', a: '100%', b: 'n/a' },
      { what: 'workload cores', a: '1.02', b: 'n/a' },
      { what: 'busiest host core', a: '98%', b: '98%' },
    ]);
  });

  it('io: memory and disks, and the disk rates', () => {
    const e = explain(as(t5, 'io'), as(t5, 'io'), devbox, h100);
    expect(e.fingerprint.map((d) => d.what)).toEqual(['memory']);
    const reading = { ...t5, bottleneck: 'io' as const, host: { ...t5.host, disk_read_mibps: { mean: 812.4, max: 900 }, disk_write_mibps: { mean: 0 } } };
    expect(explain(reading, as(t5, 'io'), devbox, h100).metrics).toEqual([
      { what: 'disk read', a: '812 MiB/s', b: 'n/a' },
      { what: 'disk write', a: '0 MiB/s', b: 'n/a' },
    ]);
  });

  it('compute: the GPU, driver and CUDA versions; SM activity and utilization', () => {
    const d = stage(r, 'denoise');
    const e = explain(d, d, devbox, h100);
    expect(e.labels).toEqual(['compute']);
    expect(e.fingerprint.map((x) => x.what)).toEqual(['GPU', 'driver', 'CUDA (driver)']);
    expect(e.fingerprint[0]).toEqual({ what: 'GPU', a: 'unknown', b: 'NVIDIA H100 80GB HBM3' });
    expect(e.same).toEqual(['CUDA runtime (torch)', 'torch']);
    expect(e.metrics.map((m) => m.what)).toEqual(['SM active', 'GPU util']);
  });

  // Offload is evidence on a GPU (GpuStage.offload, set by the report's offloadH2dMibps/offloadShare
  // rule, pinned in rules tests), not a label: either stage carrying it brings in the offload facts.
  const withOffload = (s: StageReport, on: boolean, mibps: number): StageReport => ({
    ...s,
    gpus: s.gpus.map((g) => ({ ...g, pcie_rx_mibps: mibps, offload: on ? { share: 0.4, h2d_mibps: mibps } : null })),
  });

  it('offload evidence on either host: the PCIe link and memory; the host-to-device rate', () => {
    const i = as(t5, 'idle');
    const e = explain(withOffload(as(t5, 'waiting'), true, 3200), withOffload(as(t5, 'waiting'), false, 0), devbox, h100);
    expect(e.labels).toEqual(['waiting', 'offload']);
    expect(e.fingerprint.map((x) => x.what)).toEqual(['memory', 'GPU', 'GPU PCIe link (max)', 'driver', 'CUDA (driver)']);
    expect(e.fingerprint.find((x) => x.what === 'GPU PCIe link (max)')).toEqual({ what: 'GPU PCIe link (max)', a: 'unknown', b: 'gen5 x16' });
    expect(e.metrics[0]).toEqual({ what: 'PCIe host-to-device', a: '3200 MiB/s', b: '0 MiB/s' });
    // On the second host instead: the same facts.
    expect(explain(withOffload(as(t5, 'waiting'), false, 0), withOffload(as(t5, 'waiting'), true, 3200), devbox, h100).labels).toEqual(['waiting', 'offload']);
    // Without the evidence, host-to-device traffic alone does not bring them in.
    expect(explain(withOffload(as(t5, 'waiting'), false, 3200), withOffload(as(t5, 'waiting'), false, 0), devbox, h100).labels).toEqual(['waiting']);
    expect(explain(withOffload(i, false, 3200), i, devbox, h100).labels).toEqual(['idle']);
  });

  it('mixed or idle: every fact', () => {
    const e = explain(as(t5, 'mixed'), as(t5, 'host-bound'), devbox, h100);
    expect(e.fingerprint.length + e.same.length).toBe(12);
  });

  it('says so when no bearing fact differs', () => {
    const e = explain(as(t5, 'host-bound'), as(t5, 'host-bound'), h100, h100);
    expect(explanationText(e)).toMatch(/^no host difference known that bears on host-bound; same CPU sockets\/cores\/threads, torch CPU threads, torch, Python; busiest host core 98% vs 98%$/);
  });
});

describe('compareReports', () => {
  it('explains a stage that differs, in the row and its text; leaves alike stages alone', () => {
    const a = report('host-a', devbox);
    const b = report('host-b', h100);
    // Run b's T5 took half as long: a differs from b by 2x.
    const bt5 = stage(b, 't5_encode');
    Object.assign(bt5, { duration_s: bt5.duration_s / 2 });
    const rows = compareReports(a, b);
    const t5 = rows.find((x) => x.stage === 't5_encode');
    expect(t5?.ratio).toBe(2);
    expect(t5?.why?.fingerprint.map((d) => d.what)).toContain('CPU');
    expect(t5?.text).toMatch(/^T5 encoding: 9\.0 s vs 4\.5 s, 2\.0x, \S+ vs \S+; hosts differ in /);
    const init = rows.find((x) => x.stage === 'init');
    expect(init?.why).toBeNull();
    expect(init?.text).toMatch(/^Model init: 26\.4 s vs 26\.4 s, 1\.0x, \S+ vs \S+$/);
  });
});
