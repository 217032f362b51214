import { z } from 'zod';

export { LABELS, STATES, type Label, type Shares, type State } from './labels.js';

/**
 * Keys that earlier versions accepted and that no rule uses any more. A thresholds file naming
 * one gets an error that says so, rather than the value being silently ignored.
 */
export const RETIRED_THRESHOLDS: Record<string, string> = {
  lowActivityPct: 'retired: per-interval states replaced the stage-mean rules (docs/REPORT.md, "States")',
};

/**
 * Thresholds behind the per-interval states and the labels (docs/REPORT.md explains each).
 * Override any of them with `report --thresholds FILE` (a JSON object with some of these keys).
 */
export const ThresholdsSchema = z.strictObject({
  /** SM activity (GPM/DCGM) at or above this in an interval: compute. */
  computeSmActivePct: z.number().min(0).max(100).default(70),
  /** Without SM activity, utilization at or above this: compute (utilization overstates work). */
  computeUtilPct: z.number().min(0).max(100).default(85),
  /** The busier direction of NVLink or PCIe at or above this share of its capacity: communication. */
  linkLoadPct: z.number().min(0).max(100).default(30),
  /** For a link whose capacity is unknown (old data): its busier direction at or above this (MiB/s). */
  linkMibps: z.number().nonnegative().default(51200),
  /** The busiest thread of the process driving the GPU at or above this (% of a core): host-bound. */
  hostThreadPct: z.number().min(0).max(100).default(90),
  /** Without per-thread data, the workload's CPU at or above this many cores: host-bound. */
  hostCores: z.number().positive().default(0.8),
  /** Without workload samples, the busiest host core at or above this: host-bound (host-wide). */
  hostCoreBusyPct: z.number().min(0).max(100).default(90),
  /** Utilization at or above this while SM activity is under waitingSmActivePct: waiting. */
  waitingUtilPct: z.number().min(0).max(100).default(70),
  waitingSmActivePct: z.number().min(0).max(100).default(40),
  /** Disk read+write at or above this (MiB/s): io. */
  ioMibps: z.number().nonnegative().default(50),
  /** GPU activity (SM activity, else utilization) under this: idle. */
  idleActivityPct: z.number().min(0).max(100).default(10),
  /** A stage's label is the state holding more than this share of its covered time, else mixed. */
  majorityShare: z.number().min(0).max(1).default(0.5),
  /** Host-to-device PCIe at or above this (MiB/s) in an interval counts towards offload evidence. */
  offloadH2dMibps: z.number().nonnegative().default(1024),
  /** ...and it is named in the evidence when it holds at least this share of the stage's covered time. */
  offloadShare: z.number().min(0).max(1).default(0.2),
  /** Width of the state grid's intervals (ms). */
  gridMs: z.number().int().min(10).max(60_000).default(100),
  /** A reading without `dur_ms` (older agents) covers the gap to its series' previous reading, at most this (ms). */
  readingGapCapMs: z.number().int().positive().default(2000),
  /**
   * Extra shift for GPM samples. Agents already stamp GPM at the time it describes; this is for
   * data from elsewhere that was stamped when printed.
   */
  gpmLagMs: z.number().nonnegative().default(0),
});
export type Thresholds = z.infer<typeof ThresholdsSchema>;
export const DEFAULT_THRESHOLDS: Thresholds = ThresholdsSchema.parse({});
