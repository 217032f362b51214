import { describe, expect, it } from 'vitest';
import { every, gpu, host, hostReport, proc, stageOf } from '../../../test/helpers/readings.js';

const T0 = 1_000_000;
const S10 = T0 + 10_000;
/** H200: 18 NVLink links at 25 GB/s each way. */
const NVLINK_CAP = 450e9 / 1048576;
const cell = (t: number): number => Math.round((t - T0) / 100) % 10;

describe('time shares and labels per stage', () => {
  it('calls a half-idle GPU whose rank has a saturated thread host-bound, with NVLink at 5 % of capacity (FSDP)', () => {
    const sm = [60, 10, 55, 5, 50, 15, 45, 20, 40, 10];
    const samples = every(T0, S10, 100, (t) => [
      ...[0, 1].map((g) => gpu(g, { util_pct: cell(t) % 2 ? 30 : 90, sm_active_pct: sm[cell(t)] as number, nvlink_rx_mibps: 20_000, nvlink_tx_mibps: 21_000, nvlink_capacity_mibps: NVLINK_CAP })),
      proc(1000, { thread_max_pct: 2 }),
      proc(1001, { thread_max_pct: 99, rank: 0, gpu_index: 0 }),
      proc(1002, { thread_max_pct: 99, rank: 1, gpu_index: 1 }),
    ]);
    const r = hostReport(samples, [['denoise', T0, S10]], { gpus: [0, 1] });
    const d = stageOf(r, 'denoise');
    expect(r.host_bound_from).toBe('process threads');
    expect(d.bottleneck).toBe('host-bound');
    expect(d.shares['host-bound']).toBe(1);
    expect(d.label_gpus).toEqual([0, 1]);
    expect(d.gpus.map((g) => g.bottleneck)).toEqual(['host-bound', 'host-bound']);
    expect(d.gpus[0]?.nvlink_load_pct).toBeCloseTo((21_000 / NVLINK_CAP) * 100, 1);
    expect(d.evidence).toMatch(/^GPU 0: host-bound 100%; SM activity 31% \(util 60%\); NVLink at 5% of capacity \(21000 MiB\/s\); rank 0 \(pid 1001\): busiest thread 99% \| GPU 1: .*rank 1 \(pid 1002\)/);
    expect(d.procs.map((p) => [p.pid, p.rank, p.gpu_index, p.thread_max_pct.mean])).toEqual([[1000, null, null, 2], [1001, 0, 0, 99], [1002, 1, 1, 99]]);
  });

  it('does not call NVLink traffic communication without a capacity unless it passes linkMibps (older data)', () => {
    const samples = every(T0, S10, 100, () => [gpu(0, { util_pct: 60, sm_active_pct: 30, nvlink_rx_mibps: 20_000, nvlink_tx_mibps: 20_000 }), proc(undefined, { cpu_cores: 2 })]);
    const d = stageOf(hostReport(samples, [['denoise', T0, S10]]), 'denoise');
    expect(d.bottleneck).toBe('host-bound');
    expect(d.evidence).toMatch(/NVLink 20000 MiB\/s \(capacity unknown\); the workload kept 2\.00 cores busy/);
    const fast = every(T0, S10, 100, () => [gpu(0, { util_pct: 60, sm_active_pct: 30, nvlink_rx_mibps: 60_000 }), proc(undefined, { cpu_cores: 2 })]);
    expect(stageOf(hostReport(fast, [['x', T0, S10]]), 'x').bottleneck).toBe('communication');
  });

  it('calls pinned copies near PCIe capacity communication, capacity from generation x width', () => {
    const samples = every(T0, S10, 100, () => [gpu(0, { util_pct: 0, sm_active_pct: 0, pcie_rx_mibps: 50_000, pcie_tx_mibps: 10, pcie_link_gen: 5, pcie_link_width: 16 }), proc(7, { thread_max_pct: 5, gpu_index: 0 })]);
    const d = stageOf(hostReport(samples, [['copy', T0, S10]]), 'copy');
    expect(d.bottleneck).toBe('communication');
    expect(d.gpus[0]?.pcie_capacity_mibps).toBe(60096);
    expect(d.gpus[0]?.pcie_load_pct).toBeCloseTo(83.2, 1);
    expect(d.evidence).toMatch(/PCIe at 83% of capacity \(50000 MiB\/s\)/);
    // The agent's own capacity figure wins over one derived from generation and width.
    const own = samples.map((s) => (s.source === 'gpu' ? { ...s, m: { ...s.m, pcie_capacity_mibps: 200_000 } } : s));
    expect(stageOf(hostReport(own, [['copy', T0, S10]]), 'copy').bottleneck).toBe('idle');
  });

  it('names sustained host-to-device PCIe traffic during compute as offload evidence', () => {
    const samples = every(T0, S10, 100, (t) => gpu(0, { util_pct: 100, sm_active_pct: 95, pcie_rx_mibps: cell(t) < 4 ? 8000 : 0, pcie_link_gen: 5, pcie_link_width: 16 }));
    const d = stageOf(hostReport(samples, [['denoise', T0, S10]]), 'denoise');
    expect(d.bottleneck).toBe('compute');
    expect(d.gpus[0]?.offload).toEqual({ share: 0.4, h2d_mibps: 3200 });
    expect(d.evidence).toMatch(/host-to-device PCIe busy 40% of the time at 3200 MiB\/s on average \(weights swapped in\?\)/);
    const brief = every(T0, S10, 100, (t) => gpu(0, { util_pct: 100, sm_active_pct: 95, pcie_rx_mibps: cell(t) < 1 ? 8000 : 0 }));
    expect(stageOf(hostReport(brief, [['d', T0, S10]]), 'd').gpus[0]?.offload).toBeNull();
  });

  it('gives shares of phases alternating inside each second, aligned with the readings or not', () => {
    for (const offset of [0, 50]) {
      // 500 ms of matmuls, 500 ms of sleep, every second; readings every 100 ms, maybe 50 ms off the
      // phases, so a reading then holds half of each: its figures are the mean over what it covers.
      const busy = (t: number): number => ((((t - T0 - offset) % 1000) + 1000) % 1000 < 500 ? 1 : 0);
      const covered = (t: number): number => Array.from({ length: 100 }, (_, k) => busy(t - 100 + k)).reduce((a, b) => a + b, 0) / 100;
      const samples = every(T0, T0 + 20_000, 100, (t) => gpu(0, { util_pct: 100 * covered(t), sm_active_pct: 95 * covered(t) }));
      const d = stageOf(hostReport(samples, [['mixed', T0, T0 + 20_000]]), 'mixed');
      expect(d.bottleneck).toBe('mixed');
      expect(Math.abs(d.shares.compute - 0.5), `offset ${offset}`).toBeLessThan(0.1);
      expect(Math.abs(d.shares.idle - 0.5), `offset ${offset}`).toBeLessThan(0.1);
      expect(d.evidence).toMatch(/^GPU 0: mixed, no state above 50%: (compute|idle) \d+%, (compute|idle) \d+%/);
    }
  });

  it("composes a parent stage from its children's time and its own", () => {
    const samples = every(T0, T0 + 30_000, 100, (t) => gpu(0, t <= S10 ? { util_pct: 100, sm_active_pct: 95 } : t <= T0 + 12_000 ? { util_pct: 0, sm_active_pct: 0 } : { util_pct: 100, sm_active_pct: 1 }));
    const r = hostReport(samples, [['request', T0, T0 + 30_000], ['a', T0, S10], ['b', T0 + 12_000, T0 + 30_000]]);
    const [req, a, b] = ['request', 'a', 'b'].map((n) => stageOf(r, n));
    expect(a?.shares.compute).toBe(1);
    expect(b?.shares.waiting).toBe(1);
    expect(req?.shares).toEqual({ compute: 0.333, communication: 0, waiting: 0.6, 'host-bound': 0, io: 0, idle: 0.067 });
    expect(req?.bottleneck).toBe('waiting');
    expect(req?.covered_s).toBeCloseTo((a?.covered_s ?? 0) + (b?.covered_s ?? 0) + 2, 6);
  });

  it('says how much of a stage had no data', () => {
    const samples = every(T0, T0 + 4000, 100, () => gpu(0, { util_pct: 100, sm_active_pct: 95 }));
    const s = stageOf(hostReport(samples, [['s', T0, S10]]), 's');
    expect([s.covered_s, s.no_data_s, s.shares.compute, s.bottleneck]).toEqual([4, 6, 1, 'compute']);
    expect(s.evidence).toMatch(/; no data for 6\.0 s$/);
  });
});

describe('which GPUs and processes speak for a stage', () => {
  it('leaves a GPU idle all run out of the label where no process maps to GPUs', () => {
    const samples = every(T0, S10, 100, () => [gpu(0, { util_pct: 100, sm_active_pct: 95 }), gpu(1, { util_pct: 0, sm_active_pct: 0 })]);
    const d = stageOf(hostReport(samples, [['s', T0, S10]], { gpus: [0, 1] }), 's');
    expect(d.gpus.map((g) => g.bottleneck)).toEqual(['compute', 'idle']);
    expect([d.bottleneck, d.label_gpus]).toEqual(['compute', [0]]);
    expect(d.evidence).toMatch(/\(GPU 1 left out: idle all run, or not the workload's\)/);
  });

  it('ties processes to GPUs by RANK where NVML gave no GPU index', () => {
    const samples = every(T0, S10, 100, () => [gpu(0, { util_pct: 100, sm_active_pct: 95 }), gpu(1, { util_pct: 0, sm_active_pct: 0 }), proc(1001, { rank: 0, thread_max_pct: 10 }), proc(1002, { rank: 1, thread_max_pct: 99 })]);
    const d = stageOf(hostReport(samples, [['s', T0, S10]], { gpus: [0, 1] }), 's');
    expect(d.gpus.map((g) => g.bottleneck)).toEqual(['compute', 'host-bound']);
    expect([d.bottleneck, d.label_gpus, d.shares.compute, d.shares['host-bound']]).toEqual(['mixed', [0, 1], 0.5, 0.5]);
    expect(d.gpus[1]?.evidence).toMatch(/rank 1 \(pid 1002\): busiest thread 99%/);
  });

  it('lets the busiest process speak for every GPU where none maps to one', () => {
    const samples = every(T0, S10, 100, () => [gpu(0, { util_pct: 0, sm_active_pct: 0 }), proc(2001, { thread_max_pct: 99 }), proc(2002, { thread_max_pct: 30 })]);
    const d = stageOf(hostReport(samples, [['cpu', T0, S10]]), 'cpu');
    expect(d.bottleneck).toBe('host-bound');
    expect(d.evidence).toMatch(/busiest workload process pid 2001 \(not tied to a GPU\): busiest thread 99%/);
  });

  it('tells waiting, launch-bound, io and idle apart', () => {
    const one = (m: Record<string, number>, thread: number, disk = 0): string => {
      const samples = every(T0, S10, 100, () => [gpu(0, m), proc(5, { thread_max_pct: thread, gpu_index: 0 }), host({ disk_read_mibps: disk, disk_write_mibps: 0 })]);
      const d = stageOf(hostReport(samples, [['s', T0, S10]]), 's');
      return `${d.bottleneck}: ${d.evidence}`;
    };
    expect(one({ util_pct: 100, sm_active_pct: 1 }, 2)).toMatch(/^waiting: GPU 0: waiting 100%; SM activity 1% \(util 100%\)$/);
    expect(one({ util_pct: 60, sm_active_pct: 15 }, 100)).toMatch(/^host-bound: .*pid 5: busiest thread 100%$/);
    expect(one({ util_pct: 0, sm_active_pct: 0 }, 10, 500)).toMatch(/^io: GPU 0: io 100%; .*the disks moved 500 MiB\/s$/);
    expect(one({ util_pct: 0, sm_active_pct: 0 }, 0)).toMatch(/^idle: GPU 0: idle 100%; SM activity 0% \(util 0%\)$/);
  });

  it('judges a stage without GPU data on the host alone, and one without data at all as mixed', () => {
    const samples = every(T0, S10, 100, () => [proc(undefined, { cpu_cores: 1 }), host({ cpu_core_max_pct: 100 })]);
    const r = hostReport(samples, [['t5', T0, S10], ['later', T0 + 20_000, T0 + 30_000]], { gpus: [] });
    const t5 = stageOf(r, 't5');
    expect([t5.bottleneck, t5.label_gpus, t5.shares['host-bound']]).toEqual(['host-bound', [], 1]);
    expect(t5.evidence).toBe('no GPU data in this stage; host: host-bound 100%; the workload kept 1.00 cores busy');
    const gpuGone = stageOf(hostReport([...samples, ...every(T0, T0 + 1000, 100, () => gpu(0, { util_pct: 0 }))], [['t5', T0, S10], ['later', T0 + 20_000, T0 + 30_000]]), 'later');
    expect([gpuGone.gpus[0]?.bottleneck, gpuGone.gpus[0]?.evidence, gpuGone.gpus[0]?.no_data_s]).toEqual(['no-data', 'GPU 0: no samples in this stage', 10]);
    const later = stageOf(r, 'later');
    expect([later.bottleneck, later.no_data_s, later.evidence]).toEqual(['no-data', 10, 'no GPU data in this stage; no samples cover this stage']);
  });
});
