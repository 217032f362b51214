/**
 * The metric catalogue: every key that may appear in a sample's `m`, with its unit and meaning.
 * Names never lie: `gpu.util_pct` is nvidia-smi's utilization.gpu (time a kernel ran), while
 * `gpu.sm_active_pct` is GPM SM activity (share of SMs busy). Neither is ever filled from the other.
 */
export interface MetricInfo {
  readonly unit: string;
  readonly help: string;
}

export const GPU_METRICS = {
  util_pct: { unit: '%', help: 'utilization.gpu: share of time one or more kernels ran (not SM activity)' },
  mem_util_pct: { unit: '%', help: 'utilization.memory: share of time device memory was read or written' },
  mem_used_mib: { unit: 'MiB', help: 'memory.used: device memory allocated by processes' },
  mem_total_mib: { unit: 'MiB', help: 'memory.total' },
  mem_reserved_mib: { unit: 'MiB', help: 'memory.reserved: reserved by the driver (not PyTorch reserved memory)' },
  power_w: { unit: 'W', help: 'power.draw' },
  power_limit_w: { unit: 'W', help: 'power.limit' },
  temp_c: { unit: '°C', help: 'temperature.gpu' },
  mem_temp_c: { unit: '°C', help: 'temperature.memory' },
  sm_clock_mhz: { unit: 'MHz', help: 'clocks.current.sm' },
  mem_clock_mhz: { unit: 'MHz', help: 'clocks.current.memory' },
  sm_clock_max_mhz: { unit: 'MHz', help: 'clocks.max.sm' },
  pcie_link_gen: { unit: '', help: 'pcie.link.gen.current' },
  pcie_link_width: { unit: 'lanes', help: 'pcie.link.width.current' },
  clock_event_reasons: { unit: 'bitmask', help: 'clocks_event_reasons.active (NVML clocks event reason bits)' },
  fan_pct: { unit: '%', help: 'fan.speed' },
  pstate: { unit: '', help: 'pstate: 0 for P0 (fastest) .. 15' },
  mig_enabled: { unit: 'bool', help: 'mig.mode.current: 1 when MIG is enabled' },
  ecc_uncorrected: { unit: 'count', help: 'ecc.errors.uncorrected.volatile.total' },
  // GPM (Hopper and newer), from nvidia-smi dmon --gpm-metrics or NVML GPM.
  gr_active_pct: { unit: '%', help: 'GPM graphics engine activity' },
  sm_active_pct: { unit: '%', help: 'GPM SM activity: share of SMs with at least one warp resident, averaged over time' },
  sm_occupancy_pct: { unit: '%', help: 'GPM SM occupancy: resident warps as a share of the maximum' },
  tensor_active_pct: { unit: '%', help: 'GPM tensor pipe activity' },
  dram_active_pct: { unit: '%', help: 'GPM DRAM activity' },
  pcie_tx_mibps: { unit: 'MiB/s', help: 'PCIe transmit rate (GPM; without GPM, NVML PCIe throughput or DCGM)' },
  pcie_rx_mibps: { unit: 'MiB/s', help: 'PCIe receive rate (GPM; without GPM, NVML PCIe throughput or DCGM)' },
  nvlink_tx_mibps: { unit: 'MiB/s', help: 'NVLink total transmit rate (GPM; without GPM, NVML NVLink counters or DCGM)' },
  nvlink_rx_mibps: { unit: 'MiB/s', help: 'NVLink total receive rate (GPM; without GPM, NVML NVLink counters or DCGM)' },
  // Link capacity, so link load is judged against what the links carry (slow-changing).
  nvlink_active_links: { unit: 'count', help: 'NVLink links in the active state' },
  nvlink_capacity_mibps: { unit: 'MiB/s', help: 'NVLink capacity in one direction: active links x per-link rate' },
  pcie_capacity_mibps: { unit: 'MiB/s', help: 'PCIe capacity in one direction from the current generation and width' },
} as const satisfies Record<string, MetricInfo>;

export const HOST_METRICS = {
  cpu_pct: { unit: '%', help: 'all cores busy, averaged' },
  cpu_core_max_pct: { unit: '%', help: 'busiest single core' },
  load1: { unit: '', help: '1-minute load average' },
  mem_used_mib: { unit: 'MiB', help: 'memory in use (total minus available)' },
  mem_available_mib: { unit: 'MiB', help: 'MemAvailable' },
  disk_read_mibps: { unit: 'MiB/s', help: 'block devices read rate' },
  disk_write_mibps: { unit: 'MiB/s', help: 'block devices write rate' },
  net_rx_mibps: { unit: 'MiB/s', help: 'network receive rate, all interfaces but loopback' },
  net_tx_mibps: { unit: 'MiB/s', help: 'network transmit rate, all interfaces but loopback' },
} as const satisfies Record<string, MetricInfo>;

export const PROC_METRICS = {
  cpu_cores: { unit: 'cores', help: 'CPU of the workload process tree; 1.0 is one core fully busy' },
  rss_mib: { unit: 'MiB', help: 'resident memory of the process tree' },
  threads: { unit: 'count', help: 'threads in the process tree' },
  procs: { unit: 'count', help: 'processes in the tree' },
  // Per-process samples (with `pid`) carry these too; host-bound needs the busiest thread.
  thread_max_pct: { unit: '%', help: 'busiest thread of the process (or tree), % of one core' },
  rank: { unit: '', help: 'RANK from the process environment (torchrun), where readable' },
  gpu_index: { unit: '', help: 'GPU the process runs on (NVML running processes), where known' },
  gpu_util_pct: { unit: '%', help: 'NVML per-process SM utilization of this process on its GPU' },
  gpu_mem_mib: { unit: 'MiB', help: 'device memory used by this process (NVML running processes)' },
} as const satisfies Record<string, MetricInfo>;

/** Per-core busy values are keyed `cpu<N>_pct` in host samples. */
export const hostCoreMetric = (core: number): string => `cpu${core}_pct`;

export type GpuMetric = keyof typeof GPU_METRICS;
export type HostMetric = keyof typeof HOST_METRICS;
export type ProcMetric = keyof typeof PROC_METRICS;
