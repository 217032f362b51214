/**
 * The metrics the report reads, each at a fixed slot of a Float64Array (NaN where a sample lacks
 * it). The store decodes its packed rows straight into slots, so reading an hour of samples
 * builds no per-sample objects.
 */
export const SLOT_NAMES = [
  // gpu
  'util_pct',
  'sm_active_pct',
  'tensor_active_pct',
  'mem_used_mib',
  'power_w',
  'nvlink_rx_mibps',
  'nvlink_tx_mibps',
  'pcie_rx_mibps',
  'pcie_tx_mibps',
  'nvlink_capacity_mibps',
  'pcie_capacity_mibps',
  'pcie_link_gen',
  'pcie_link_width',
  'gr_active_pct',
  'sm_occupancy_pct',
  'dram_active_pct',
  // host (mem_used_mib is shared with gpu; the sample's source tells which)
  'cpu_pct',
  'cpu_core_max_pct',
  'disk_read_mibps',
  'disk_write_mibps',
  // proc
  'cpu_cores',
  'rss_mib',
  'thread_max_pct',
  'rank',
  'gpu_index',
] as const;
export type SlotName = (typeof SLOT_NAMES)[number];
export const SLOT = Object.fromEntries(SLOT_NAMES.map((n, i) => [n, i])) as { readonly [K in SlotName]: number };
export const SLOT_COUNT = SLOT_NAMES.length;

/** Metrics a GPM reading carries (moved back by gpmLagMs; their own series for the gap fallback). */
export const GPM_SLOTS: readonly number[] = [
  'sm_active_pct',
  'tensor_active_pct',
  'gr_active_pct',
  'sm_occupancy_pct',
  'dram_active_pct',
  'nvlink_rx_mibps',
  'nvlink_tx_mibps',
  'pcie_rx_mibps',
  'pcie_tx_mibps',
].map((n) => SLOT[n as SlotName]);
/** A sample with one of these is a GPM reading (link rates alone may come from NVML counters). */
export const GPM_ONLY_SLOTS: readonly number[] = ['sm_active_pct', 'tensor_active_pct', 'gr_active_pct', 'sm_occupancy_pct', 'dram_active_pct'].map((n) => SLOT[n as SlotName]);

const slotOfName = new Map<string, number>(SLOT_NAMES.map((n, i) => [n, i]));
export const slotOf = (name: string): number => slotOfName.get(name) ?? -1;

/** A sample's metrics into slots. */
export function fillSlots(m: Readonly<Record<string, number>>, out: Float64Array): void {
  out.fill(NaN);
  for (const k in m) {
    const i = slotOfName.get(k);
    if (i !== undefined) out[i] = m[k] as number;
  }
}
