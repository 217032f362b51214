import { Gauge, type Registry } from 'prom-client';
import type { Sample } from '@stagewatch/shared';

/**
 * Latest GPU and host values on /metrics, under the names a dcgm-exporter user knows where they
 * mean the same thing (DCGM's PROF metrics are ratios 0..1 and its PCIe/NVLink rates bytes/s,
 * so values are converted). Metrics with no DCGM twin keep stagewatch names.
 */
const GPU_MAP: ReadonlyArray<{ metric: string; name: string; help: string; scale: number }> = [
  { metric: 'util_pct', name: 'DCGM_FI_DEV_GPU_UTIL', help: 'GPU utilization (in %), nvidia-smi utilization.gpu', scale: 1 },
  { metric: 'mem_util_pct', name: 'DCGM_FI_DEV_MEM_COPY_UTIL', help: 'Memory utilization (in %)', scale: 1 },
  { metric: 'mem_used_mib', name: 'DCGM_FI_DEV_FB_USED', help: 'Framebuffer memory used (in MiB)', scale: 1 },
  { metric: 'power_w', name: 'DCGM_FI_DEV_POWER_USAGE', help: 'Power draw (in W)', scale: 1 },
  { metric: 'temp_c', name: 'DCGM_FI_DEV_GPU_TEMP', help: 'GPU temperature (in C)', scale: 1 },
  { metric: 'mem_temp_c', name: 'DCGM_FI_DEV_MEMORY_TEMP', help: 'Memory temperature (in C)', scale: 1 },
  { metric: 'sm_clock_mhz', name: 'DCGM_FI_DEV_SM_CLOCK', help: 'SM clock frequency (in MHz)', scale: 1 },
  { metric: 'mem_clock_mhz', name: 'DCGM_FI_DEV_MEM_CLOCK', help: 'Memory clock frequency (in MHz)', scale: 1 },
  { metric: 'clock_event_reasons', name: 'DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', help: 'Current clock throttle reasons (bitmask)', scale: 1 },
  { metric: 'gr_active_pct', name: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE', help: 'Ratio of time the graphics engine is active (GPM)', scale: 0.01 },
  { metric: 'sm_active_pct', name: 'DCGM_FI_PROF_SM_ACTIVE', help: 'The ratio of cycles an SM has at least 1 warp assigned (GPM)', scale: 0.01 },
  { metric: 'sm_occupancy_pct', name: 'DCGM_FI_PROF_SM_OCCUPANCY', help: 'The ratio of number of warps resident on an SM (GPM)', scale: 0.01 },
  { metric: 'tensor_active_pct', name: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', help: 'Ratio of cycles the tensor (HMMA) pipe is active (GPM)', scale: 0.01 },
  { metric: 'dram_active_pct', name: 'DCGM_FI_PROF_DRAM_ACTIVE', help: 'Ratio of cycles the device memory interface is active (GPM)', scale: 0.01 },
  { metric: 'pcie_tx_mibps', name: 'DCGM_FI_PROF_PCIE_TX_BYTES', help: 'The rate of data transmitted over the PCIe bus, in bytes per second (GPM)', scale: 1048576 },
  { metric: 'pcie_rx_mibps', name: 'DCGM_FI_PROF_PCIE_RX_BYTES', help: 'The rate of data received over the PCIe bus, in bytes per second (GPM)', scale: 1048576 },
  { metric: 'nvlink_tx_mibps', name: 'DCGM_FI_PROF_NVLINK_TX_BYTES', help: 'The rate of data transmitted over NVLink, in bytes per second (GPM)', scale: 1048576 },
  { metric: 'nvlink_rx_mibps', name: 'DCGM_FI_PROF_NVLINK_RX_BYTES', help: 'The rate of data received over NVLink, in bytes per second (GPM)', scale: 1048576 },
];
const GPU_OWN = ['mem_total_mib', 'power_limit_w', 'pstate', 'fan_pct'];
const HOST_KEYS = ['cpu_pct', 'cpu_core_max_pct', 'load1', 'mem_used_mib', 'mem_available_mib', 'disk_read_mibps', 'disk_write_mibps', 'net_rx_mibps', 'net_tx_mibps'];
const PROC_KEYS = ['cpu_cores', 'rss_mib', 'threads'];

interface Entry {
  at: number;
  labels: Record<string, string>;
  m: Record<string, number>;
}

export class LatestValues {
  private readonly gpus = new Map<string, Entry>();
  private readonly hosts = new Map<string, Entry>();
  private readonly procs = new Map<string, Entry>();

  constructor(
    registry: Registry,
    private readonly gpuInfo: (host: string, index: number) => { uuid: string; name: string } | undefined,
    private readonly staleMs = 60_000,
  ) {
    const gpuLabels = ['gpu', 'UUID', 'device', 'modelName', 'Hostname'];
    for (const g of GPU_MAP) this.gauge(registry, g.name, g.help, gpuLabels, this.gpus, g.metric, g.scale);
    for (const k of GPU_OWN) this.gauge(registry, `stagewatch_gpu_${k}`, `Latest ${k} per GPU`, gpuLabels, this.gpus, k, 1);
    for (const k of HOST_KEYS) this.gauge(registry, `stagewatch_host_${k}`, `Latest host ${k}`, ['Hostname'], this.hosts, k, 1);
    for (const k of PROC_KEYS) this.gauge(registry, `stagewatch_workload_${k}`, `Latest workload ${k} (process tree of a run)`, ['Hostname', 'run'], this.procs, k, 1);
  }

  private gauge(registry: Registry, name: string, help: string, labelNames: string[], from: Map<string, Entry>, metric: string, scale: number): void {
    const g: Gauge = new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect: () => {
        g.reset();
        const now = Date.now();
        for (const [k, e] of from) {
          if (now - e.at > this.staleMs) {
            from.delete(k);
            continue;
          }
          const v = e.m[metric];
          if (v !== undefined) g.set(e.labels, v * scale);
        }
      },
    });
  }

  /** Takes stored samples; GPU query and GPM lines of one GPU merge into one entry. */
  update(samples: readonly Sample[], runId: string | null): void {
    const now = Date.now();
    for (const s of samples) {
      if (s.source === 'gpu' && s.gpu !== undefined) {
        const key = `${s.host}\u0000${s.gpu}`;
        const info = this.gpuInfo(s.host, s.gpu);
        const e = this.gpus.get(key) ?? { at: now, m: {}, labels: { gpu: String(s.gpu), UUID: info?.uuid ?? '', device: `nvidia${s.gpu}`, modelName: info?.name ?? '', Hostname: s.host } };
        Object.assign(e.m, s.m);
        e.at = now;
        this.gpus.set(key, e);
      } else if (s.source === 'host') {
        this.hosts.set(s.host, { at: now, labels: { Hostname: s.host }, m: s.m });
      } else if (runId !== null && s.pid === undefined) {
        // Per-process samples (pid) are not the tree total this gauge shows.
        this.procs.set(`${s.host}\u0000${runId}`, { at: now, labels: { Hostname: s.host, run: runId }, m: s.m });
      }
    }
  }
}
