import type { GpuMetric } from '@stagewatch/shared';
import { parseEnabledCell, parseHexCell, parseNumberCell, parsePstateCell, type Cell } from './values.js';

/** One `--query-gpu` field and the metric it feeds. */
export interface MetricField {
  readonly field: string;
  readonly metric: GpuMetric;
  readonly parse: (raw: string) => Cell;
}

export const METRIC_FIELDS: readonly MetricField[] = [
  { field: 'utilization.gpu', metric: 'util_pct', parse: parseNumberCell },
  { field: 'utilization.memory', metric: 'mem_util_pct', parse: parseNumberCell },
  { field: 'memory.used', metric: 'mem_used_mib', parse: parseNumberCell },
  { field: 'memory.total', metric: 'mem_total_mib', parse: parseNumberCell },
  { field: 'memory.reserved', metric: 'mem_reserved_mib', parse: parseNumberCell },
  { field: 'power.draw', metric: 'power_w', parse: parseNumberCell },
  { field: 'power.limit', metric: 'power_limit_w', parse: parseNumberCell },
  { field: 'temperature.gpu', metric: 'temp_c', parse: parseNumberCell },
  { field: 'temperature.memory', metric: 'mem_temp_c', parse: parseNumberCell },
  { field: 'clocks.sm', metric: 'sm_clock_mhz', parse: parseNumberCell },
  { field: 'clocks.mem', metric: 'mem_clock_mhz', parse: parseNumberCell },
  { field: 'clocks.max.sm', metric: 'sm_clock_max_mhz', parse: parseNumberCell },
  { field: 'pcie.link.gen.current', metric: 'pcie_link_gen', parse: parseNumberCell },
  { field: 'pcie.link.width.current', metric: 'pcie_link_width', parse: parseNumberCell },
  { field: 'clocks_event_reasons.active', metric: 'clock_event_reasons', parse: parseHexCell },
  { field: 'fan.speed', metric: 'fan_pct', parse: parseNumberCell },
  { field: 'pstate', metric: 'pstate', parse: parsePstateCell },
  { field: 'mig.mode.current', metric: 'mig_enabled', parse: parseEnabledCell },
  { field: 'ecc.errors.uncorrected.volatile.total', metric: 'ecc_uncorrected', parse: parseNumberCell },
];

export const DEFAULT_FIELDS: readonly string[] = METRIC_FIELDS.map((f) => f.field);

export function metricFieldsFor(fields: readonly string[]): MetricField[] {
  const wanted = new Set(fields);
  return METRIC_FIELDS.filter((f) => wanted.has(f.field));
}
