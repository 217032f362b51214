/**
 * Link capacity in one direction, so link load can be judged against what the link carries.
 * Pure: NVML and nvidia-smi supply generation, width, links and per-link rate.
 */

const MB = 1e6;
const MIB = 1024 * 1024;

/**
 * Payload rate of one PCIe lane in one direction, in MB/s (10^6 bytes): line rate times encoding
 * efficiency (8b/10b for gen 1-2, 128b/130b for 3-5, FLIT mode's 242 of 256 bytes for 6).
 */
export const PCIE_LANE_MBPS: Readonly<Record<number, number>> = {
  1: (2500 * 8) / 10 / 8,
  2: (5000 * 8) / 10 / 8,
  3: (8000 * 128) / 130 / 8,
  4: (16000 * 128) / 130 / 8,
  5: (32000 * 128) / 130 / 8,
  6: (64000 * 242) / 256 / 8,
};

const round = (v: number): number => Math.round(v * 100) / 100;

/** PCIe capacity in one direction, MiB/s, from the current generation and width; null where unknown. */
export function pcieCapacityMibps(gen: number | undefined, width: number | undefined): number | null {
  const lane = gen === undefined ? undefined : PCIE_LANE_MBPS[gen];
  if (lane === undefined || width === undefined || !(width > 0)) return null;
  return round((lane * width * MB) / MIB);
}

/**
 * NVLink capacity in one direction, MiB/s: active links times NVML's per-link speed (MBps, 10^6
 * bytes per second, as `nvidia-smi nvlink -s` prints it). Null where either is unknown or no link
 * is active (a capacity of 0 would only invite a division by zero).
 */
export function nvlinkCapacityMibps(activeLinks: number | null, perLinkMBps: number | null): number | null {
  if (activeLinks === null || perLinkMBps === null || activeLinks <= 0 || !(perLinkMBps > 0)) return null;
  return round((activeLinks * perLinkMBps * MB) / MIB);
}

/** A rate in MiB/s from two readings of a byte counter (`unitBytes` per count); null on a reset or no time. */
export function counterRateMibps(prev: number, cur: number, unitBytes: number, elapsedMs: number): number | null {
  if (!(elapsedMs > 0) || cur < prev) return null;
  return round(((cur - prev) * unitBytes) / MIB / (elapsedMs / 1000));
}
