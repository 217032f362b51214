/**
 * How a roll-up reading holds each metric over its bucket. Most metrics are levels (%, W, MiB,
 * MiB/s, cores, °C, MHz): their time-weighted mean. A mean of a state or a setting would be a
 * value the device never had (P-state 0.5, PCIe gen 3.5, rank 1.5), so those hold their last
 * reading in the bucket: true at the roll-up's own time, which is that reading's. A bitmask holds
 * the bits of every reading in the bucket (the clock-event reasons active at any time in it).
 * Metrics not named here (new ones, workload gauges) are means.
 */
export type RollKind = 'mean' | 'last' | 'or';

const LAST = new Set([
  // GPU states and settings (shared/src/metrics.ts units '', 'bool', 'count', and fixed limits).
  'pstate', 'pcie_link_gen', 'pcie_link_width', 'mig_enabled', 'ecc_uncorrected', 'nvlink_active_links',
  'mem_total_mib', 'power_limit_w', 'sm_clock_max_mhz', 'nvlink_capacity_mibps', 'pcie_capacity_mibps',
  // Workload processes: counts and identities.
  'threads', 'procs', 'rank', 'gpu_index',
]);

const OR = new Set(['clock_event_reasons']);

export function rollKind(metric: string): RollKind {
  return OR.has(metric) ? 'or' : LAST.has(metric) ? 'last' : 'mean';
}

/** Bitwise or of two whole non-negative numbers (beyond 32 bits too: NVML's reasons are 64-bit). */
export function orBits(a: number, b: number): number {
  if (a < 2 ** 31 && b < 2 ** 31 && a >= 0 && b >= 0) return (a | b) >>> 0;
  return Number(BigInt(Math.trunc(a)) | BigInt(Math.trunc(b)));
}
