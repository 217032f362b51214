/**
 * Link capacity, so link traffic is judged against what the link carries. The per-lane table is
 * shared/src/link-capacity.ts (a small table rather than a library: no npm package carries PCIe
 * per-lane rates, and they are fixed by the spec).
 */
import { pcieCapacityMibps as sharedPcieCapacity } from '@stagewatch/shared';

/** PCIe capacity in one direction (MiB/s) from generation and width (shared with the agent), or null for an unknown generation. */
export function pcieCapacityMibps(gen: number, width: number): number | null {
  return sharedPcieCapacity(Math.round(gen), width);
}

/** The busier direction as a percentage of capacity, or null where either is unknown. */
export function loadPct(rx: number | null, tx: number | null, capacityMibps: number | null): number | null {
  if (capacityMibps === null || capacityMibps <= 0 || (rx === null && tx === null)) return null;
  return (Math.max(rx ?? 0, tx ?? 0) / capacityMibps) * 100;
}
