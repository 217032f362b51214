import { GPU_METRICS, HOST_METRICS, PROC_METRICS } from '@stagewatch/shared';

/** Short human names of the charted metrics; units come from the metric catalogue (shared/src/metrics.ts). */
const NAMES: Record<'gpu' | 'host' | 'proc', Record<string, string>> = {
  gpu: {
    util_pct: 'utilization',
    sm_active_pct: 'SM activity',
    sm_occupancy_pct: 'SM occupancy',
    tensor_active_pct: 'tensor activity',
    dram_active_pct: 'DRAM activity',
    mem_used_mib: 'memory used',
    power_w: 'power',
    temp_c: 'temperature',
    pcie_tx_mibps: 'PCIe transmit',
    pcie_rx_mibps: 'PCIe receive',
    nvlink_tx_mibps: 'NVLink transmit',
    nvlink_rx_mibps: 'NVLink receive',
  },
  host: {
    cpu_pct: 'CPU, all cores',
    cpu_core_max_pct: 'busiest core',
    load1: 'load (1 min)',
    mem_used_mib: 'memory used',
    mem_available_mib: 'memory available',
    disk_read_mibps: 'disk read',
    disk_write_mibps: 'disk write',
    net_rx_mibps: 'network receive',
    net_tx_mibps: 'network transmit',
  },
  proc: { cpu_cores: 'CPU', rss_mib: 'resident memory', threads: 'threads', procs: 'processes' },
};
const CATALOGUE: Record<'gpu' | 'host' | 'proc', Record<string, { unit: string }>> = { gpu: GPU_METRICS, host: HOST_METRICS, proc: PROC_METRICS };

export interface SeriesInfo {
  scope: 'gpu' | 'host' | 'proc';
  gpu: number | null;
  metric: string;
  /** "GPU 0 SM activity", "host memory used", "workload CPU", "CPU core 3". */
  label: string;
  /** From the metric catalogue: %, W, MiB, MiB/s, cores, ... */
  unit: string;
}

/** What a chart key (`gpu0.sm_active_pct`, `host.cpu3_pct`, `proc.cpu_cores`) means, in words. */
export function seriesInfo(key: string): SeriesInfo {
  const m = /^(?:gpu(\d+)|(host|proc))\.(.+)$/.exec(key);
  if (!m) return { scope: 'host', gpu: null, metric: key, label: key, unit: '' };
  const scope = m[1] !== undefined ? 'gpu' : (m[2] as 'host' | 'proc');
  const metric = m[3] as string;
  const core = /^cpu(\d+)_pct$/.exec(metric);
  const unit = core ? '%' : (CATALOGUE[scope][metric]?.unit ?? '');
  const name = core ? `CPU core ${core[1]}` : (NAMES[scope][metric] ?? metric);
  const label = scope === 'gpu' ? `GPU ${m[1]} ${name}` : core ? name : `${scope === 'host' ? 'host' : 'workload'} ${name}`;
  return { scope, gpu: m[1] !== undefined ? Number(m[1]) : null, metric, label, unit };
}

/** A legend entry: the name with its unit, "GPU 0 power (W)". */
export const legendLabel = (key: string): string => {
  const i = seriesInfo(key);
  return i.unit ? `${i.label} (${i.unit})` : i.label;
};
