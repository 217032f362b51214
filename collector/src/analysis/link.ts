/**
 * Link capacity, so link traffic is judged against what the link carries. A small table rather
 * than a library: no npm package carries PCIe per-lane rates, and they are fixed by the spec.
 */

/**
 * Usable bytes per second per lane and direction, after line encoding: 8b/10b for gen 1-2,
 * 128b/130b for gen 3-5, FLIT mode (242/256) for gen 6. GT/s x efficiency / 8.
 */
const PCIE_LANE_BYTES_PER_S: Record<number, number> = {
  1: (2.5e9 * 8) / 10 / 8,
  2: (5e9 * 8) / 10 / 8,
  3: (8e9 * 128) / 130 / 8,
  4: (16e9 * 128) / 130 / 8,
  5: (32e9 * 128) / 130 / 8,
  6: (64e9 * 242) / 256 / 8,
};

/** PCIe capacity in one direction (MiB/s) from generation and width, or null for an unknown generation. */
export function pcieCapacityMibps(gen: number, width: number): number | null {
  const lane = PCIE_LANE_BYTES_PER_S[Math.round(gen)];
  if (lane === undefined || !(width > 0)) return null;
  return (lane * width) / 1048576;
}

/** The busier direction as a percentage of capacity, or null where either is unknown. */
export function loadPct(rx: number | null, tx: number | null, capacityMibps: number | null): number | null {
  if (capacityMibps === null || capacityMibps <= 0 || (rx === null && tx === null)) return null;
  return (Math.max(rx ?? 0, tx ?? 0) / capacityMibps) * 100;
}
