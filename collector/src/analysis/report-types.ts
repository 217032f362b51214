/** The report's JSON shape (docs/REPORT.md, "Output"). */
import type { HostFingerprint, Sample, WorkloadRuntime } from '@stagewatch/shared';
import type { MarkLike } from './stages.js';
import type { HostSource } from './states.js';
import type { Summary } from './stats.js';
import type { Label, Shares, Thresholds } from './thresholds.js';

export interface ReportRun {
  id: string;
  kind: string;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  /** The signal that interrupted the workload (`SIGINT`, ...), or null. */
  signal?: string | null;
}

export interface HostInput {
  host: string;
  gpus: Array<{ index: number; name: string }>;
  marks: ReadonlyArray<MarkLike & { gauges?: Record<string, number>; source?: string }>;
  /** What the host is (agent's hello) and what the workload said it runs on. */
  fingerprint?: { host: HostFingerprint | null; workload: WorkloadRuntime | null };
  /** Where the agent said SM activity comes from (absent from older agents). */
  smActivity?: 'gpm' | 'dcgm' | 'none';
}

export interface ReportInput {
  run: ReportRun;
  hosts: Array<HostInput & { /** In time order. */ samples: readonly Sample[] }>;
}

/** Share of covered time per state, and how much of the stage had no data. */
export interface TimeShares {
  shares: Shares;
  covered_s: number;
  no_data_s: number;
}

export interface GpuStage extends TimeShares {
  index: number;
  util_pct: Summary | null;
  sm_active_pct: Summary | null;
  tensor_active_pct: Summary | null;
  mem_used_mib: { max: number | null };
  power_w: { mean: number | null };
  energy_j: number | null;
  nvlink_rx_mibps: number | null;
  nvlink_tx_mibps: number | null;
  pcie_rx_mibps: number | null;
  pcie_tx_mibps: number | null;
  /** One direction; null where unknown. */
  nvlink_capacity_mibps: number | null;
  pcie_capacity_mibps: number | null;
  /** The busier direction's stage mean against capacity. */
  nvlink_load_pct: number | null;
  pcie_load_pct: number | null;
  /** Host-to-device PCIe sustained through the stage (offloaded weights?), else null. */
  offload: { share: number; h2d_mibps: number } | null;
  bottleneck: Label;
  evidence: string;
}

export interface ProcStage {
  pid: number;
  rank: number | null;
  /** The GPU this process speaks for in the host-bound rule (NVML index, else RANK), or null. */
  gpu_index: number | null;
  thread_max_pct: { mean: number | null; max: number | null };
  cpu_cores: { mean: number | null };
}

export interface StageReport extends TimeShares {
  name: string;
  depth: number;
  start_ms: number;
  end_ms: number;
  duration_s: number;
  samples: number;
  unterminated: boolean;
  /** Set where the agent inferred this stage's bounds (no log line or mark gave them): how, in words. */
  inferred: string | null;
  /** `inferred`: steps whose times were split evenly (a throttled progress bar drew them at once). */
  steps: { stage: string; count: number; inferred: number; duration_s: Summary; slowest: { step: number; duration_s: number } } | null;
  gpus: GpuStage[];
  host: { cpu_pct: { mean: number | null }; cpu_core_max_pct: { mean: number | null; max: number | null }; disk_read_mibps: { mean: number | null; max: number | null }; disk_write_mibps: { mean: number | null } };
  /** The workload tree; thread_max_pct: its busiest thread, % of one core (null where the agent did not sample it). */
  proc: { cpu_cores: { mean: number | null; max: number | null }; thread_max_pct: { mean: number | null; max: number | null }; rss_mib: { max: number | null } };
  /** Each workload process (agents that sample processes one by one). */
  procs: ProcStage[];
  workload: { torch_reserved_mib: { max: number | null }; torch_allocated_mib: { max: number | null } } | null;
  /** GPUs whose time makes the stage's shares; empty where the stage was judged on the host alone. */
  label_gpus: number[];
  bottleneck: Label;
  evidence: string;
}

export interface HostReport {
  host: string;
  gpus: Array<{ index: number; name: string }>;
  /** True where any SM activity samples exist (GPM, or DCGM on newer agents: see sm_activity). */
  gpm: boolean;
  /** Which source gave SM activity: the agent's word, else GPM where samples exist. */
  sm_activity: 'gpm' | 'dcgm' | 'none';
  fingerprint: { host: HostFingerprint | null; workload: WorkloadRuntime | null };
  /** Which figure the host-bound rule used: the best the run's data allowed. */
  host_bound_from: HostSource;
  stages: StageReport[];
  problems: string[];
  /**
   * Only where retention rolled some of the host's readings up: the resolutions they are held
   * at and over which times (raw, 1s, 10s), finest first. Figures of a time range come from the finest.
   */
  resolution?: Array<{ resolution: 'raw' | '1s' | '10s'; from_ms: number; to_ms: number }>;
}

export interface Report {
  run: ReportRun & { hosts: string[] };
  thresholds: Thresholds;
  hosts: HostReport[];
}
