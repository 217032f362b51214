import { errorMessage, type GpuMetric } from '@stagewatch/shared';
import {
  CONNECT_V2_PARAMS_VERSION2,
  DCGM_FE_GPU,
  DCGM_FP64_BLANK,
  DCGM_FT_INT64,
  DCGM_GROUP_EMPTY,
  DCGM_INT64_BLANK,
  DCGM_MAX_NUM_DEVICES,
  DCGM_OPERATION_MODE_AUTO,
  DCGM_ST_OK,
  DCGM_ST_PROFILING_NOT_SUPPORTED,
  FIELD_VALUE_V1_SIZE,
  FIELD_VALUE_VERSION1,
  loadDcgm,
  shutdownDcgm,
  type DcgmApi,
} from './bindings.js';

const MIB = 1024 * 1024;

/**
 * DCGM's profiling fields (dcgm_fields.h) and the agent's metric for each. SM/tensor/DRAM activity
 * and occupancy are ratios 0-1; PCIe and NVLink are bytes per second over DCGM's sample interval,
 * PCIe from the GPU's side (rx = host to device).
 */
export const DCGM_FIELDS: ReadonlyArray<{ id: number; metric: GpuMetric; scale: number }> = [
  { id: 1002, metric: 'sm_active_pct', scale: 100 }, // DCGM_FI_PROF_SM_ACTIVE
  { id: 1003, metric: 'sm_occupancy_pct', scale: 100 }, // DCGM_FI_PROF_SM_OCCUPANCY
  { id: 1004, metric: 'tensor_active_pct', scale: 100 }, // DCGM_FI_PROF_PIPE_TENSOR_ACTIVE
  { id: 1005, metric: 'dram_active_pct', scale: 100 }, // DCGM_FI_PROF_DRAM_ACTIVE
  { id: 1009, metric: 'pcie_tx_mibps', scale: 1 / MIB }, // DCGM_FI_PROF_PCIE_TX_BYTES
  { id: 1010, metric: 'pcie_rx_mibps', scale: 1 / MIB }, // DCGM_FI_PROF_PCIE_RX_BYTES
  { id: 1011, metric: 'nvlink_tx_mibps', scale: 1 / MIB }, // DCGM_FI_PROF_NVLINK_TX_BYTES
  { id: 1012, metric: 'nvlink_rx_mibps', scale: 1 / MIB }, // DCGM_FI_PROF_NVLINK_RX_BYTES
];

/** DCGM samples profiling fields no faster than every 100 ms. */
export const DCGM_MIN_INTERVAL_MS = 100;

/** One dcgmFieldValue_v1 as read: the head of the struct and the first 8 bytes of its union. */
export interface RawValue {
  version: number;
  fieldId: number;
  fieldType: number;
  status: number;
  /** usec since 1970 */
  ts: number | bigint;
  dbl: number;
  i64: number | bigint;
}

/**
 * One GPU's values into metrics: DCGM's blanks and failed statuses become absent values with a
 * reason, never zeros. Returns the newest value time (ms) as the reading's time. Pure.
 */
export function valuesToMetrics(values: readonly RawValue[], errorString: (code: number) => string): { t: number | null; m: Record<string, number>; absent: Record<string, string> } {
  const m: Record<string, number> = {};
  const absent: Record<string, string> = {};
  let t: number | null = null;
  for (const v of values) {
    const f = DCGM_FIELDS.find((x) => x.id === v.fieldId);
    if (!f) continue;
    // The library filled in its own struct version: a different one means a different layout.
    if (v.version !== FIELD_VALUE_VERSION1) {
      absent[f.metric] = `[dcgmFieldValue version ${v.version >>> 0} is not v1 (${FIELD_VALUE_VERSION1})]`;
      continue;
    }
    if (v.status !== DCGM_ST_OK) {
      absent[f.metric] = `[${errorString(v.status)}]`;
      continue;
    }
    let x: number | null;
    if (v.fieldType === DCGM_FT_INT64) x = BigInt(v.i64) >= DCGM_INT64_BLANK ? null : Number(v.i64);
    else x = v.dbl >= DCGM_FP64_BLANK || !Number.isFinite(v.dbl) ? null : v.dbl;
    if (x === null) {
      absent[f.metric] = '[DCGM blank]';
      continue;
    }
    m[f.metric] = Math.round(x * f.scale * 100) / 100;
    const ms = Number(v.ts) / 1000;
    t = t === null ? ms : Math.max(t, ms);
  }
  return { t, m, absent };
}

export interface DcgmSession {
  api: DcgmApi;
  handle: unknown;
  mode: 'hostengine' | 'embedded';
  group: unknown;
  fieldGroup: unknown;
  gpuIds: number[];
  watchMs: number;
}

/**
 * Opens DCGM for profiling: a running nv-hostengine on localhost if there is one (dcgmConnect_v2),
 * else an embedded host engine (dcgmStartEmbedded); a GPU group of `gpuIds` (those without GPM;
 * every supported GPU when undefined), the profiling field group, watched every `intervalMs`
 * (100 ms at least). Anything it created is released again when a later step fails.
 */
export function openDcgm(opts: { intervalMs: number; libs: readonly string[]; gpuIds?: readonly number[] }): DcgmSession | { error: string } {
  let api: DcgmApi;
  try {
    api = loadDcgm(opts.libs);
  } catch (e) {
    return { error: errorMessage(e) };
  }
  const c = api.call;
  const cleanup: Array<() => void> = [() => shutdownDcgm(api)];
  const fail = (why: string): { error: string } => {
    for (const f of cleanup.reverse()) f();
    return { error: why };
  };
  const h: unknown[] = [0];
  let mode: DcgmSession['mode'] = 'hostengine';
  const params = { version: CONNECT_V2_PARAMS_VERSION2, persistAfterDisconnect: 0, timeoutMs: 1000, addressIsUnixSocket: 0 };
  const crc = Number(c.connect?.('127.0.0.1', params, h));
  if (crc === DCGM_ST_OK) {
    cleanup.push(() => c.disconnect?.(h[0]));
  } else {
    mode = 'embedded';
    const erc = Number(c.startEmbedded?.(DCGM_OPERATION_MODE_AUTO, h));
    if (erc !== DCGM_ST_OK) return fail(`no nv-hostengine on localhost (${api.errorString(crc)}) and the embedded one did not start (${api.errorString(erc)})`);
    cleanup.push(() => c.stopEmbedded?.(h[0]));
  }
  const handle = h[0];
  const list = new Uint32Array(DCGM_MAX_NUM_DEVICES);
  const count = [0];
  const drc = Number(c.supportedDevices?.(handle, list, count));
  if (drc !== DCGM_ST_OK) return fail(`dcgmGetAllSupportedDevices: ${api.errorString(drc)}`);
  const supported = [...list.slice(0, count[0] as number)];
  const gpuIds = opts.gpuIds ? supported.filter((g) => opts.gpuIds?.includes(g)) : supported;
  if (gpuIds.length === 0) return fail(`DCGM supports none of the GPUs without GPM (${opts.gpuIds?.join(', ') ?? 'none'}; DCGM sees ${supported.join(', ') || 'none'})`);
  // Names are per host engine, shared by every client: the pid keeps two agents apart.
  const g: unknown[] = [0];
  const grc = Number(c.groupCreate?.(handle, DCGM_GROUP_EMPTY, `stagewatch-${process.pid}`, g));
  if (grc !== DCGM_ST_OK) return fail(`dcgmGroupCreate: ${api.errorString(grc)}`);
  cleanup.push(() => c.groupDestroy?.(handle, g[0]));
  for (const id of gpuIds) {
    const arc = Number(c.groupAddDevice?.(handle, g[0], id));
    if (arc !== DCGM_ST_OK) return fail(`dcgmGroupAddDevice ${id}: ${api.errorString(arc)}`);
  }
  const fg: unknown[] = [0];
  const ids = new Uint16Array(DCGM_FIELDS.map((f) => f.id));
  const frc = Number(c.fieldGroupCreate?.(handle, ids.length, ids, `stagewatch-prof-${process.pid}`, fg));
  if (frc !== DCGM_ST_OK) return fail(`dcgmFieldGroupCreate: ${api.errorString(frc)}`);
  cleanup.push(() => c.fieldGroupDestroy?.(handle, fg[0]));
  const watchMs = Math.max(DCGM_MIN_INTERVAL_MS, opts.intervalMs);
  const session: DcgmSession = { api, handle, mode, group: g[0], fieldGroup: fg[0], gpuIds, watchMs };
  const wrc = watch(session);
  if (wrc !== DCGM_ST_OK) {
    const why = wrc === DCGM_ST_PROFILING_NOT_SUPPORTED ? 'profiling is not supported on these GPUs (datacenter GPUs from Volta on; see docs/DCGM.md)' : api.errorString(wrc);
    return fail(`dcgmWatchFields: ${why}`);
  }
  return session;
}

/** Watches the profiling fields every watchMs, keeping two samples (only the latest is read). */
export function watch(s: DcgmSession): number {
  return Number(s.api.call.watchFields?.(s.handle, s.group, s.fieldGroup, s.watchMs * 1000, Math.max(1, (2 * s.watchMs) / 1000), 2));
}

export function unwatch(s: DcgmSession): number {
  return Number(s.api.call.unwatchFields?.(s.handle, s.group, s.fieldGroup));
}

/** Gives the profiling counters back (for Nsight): dcgmProfPause where DCGM has it, else the fields unwatched. */
export function pauseProfiling(s: DcgmSession): { rc: number; how: string } {
  const pause = s.api.call.profPause;
  return pause ? { rc: Number(pause(s.handle)), how: 'dcgmProfPause' } : { rc: unwatch(s), how: 'fields unwatched' };
}

/** Takes the profiling counters again: dcgmProfResume, else the fields watched again. */
export function resumeProfiling(s: DcgmSession): number {
  const resume = s.api.call.profResume;
  return resume ? Number(resume(s.handle)) : watch(s);
}

/** DCGM's words for a return code. */
export const dcgmError = (s: DcgmSession, rc: number): string => s.api.errorString(rc);

/** The latest values per GPU (dcgmGetLatestValues_v2, through a callback DCGM calls per GPU). */
export function latest(s: DcgmSession): { rc: number; byGpu: Map<number, RawValue[]> } {
  const { koffi, types } = s.api;
  const byGpu = new Map<number, RawValue[]>();
  const cb = (entityGroup: number, entityId: number, values: unknown, n: number): number => {
    if (entityGroup !== DCGM_FE_GPU) return 0;
    const out: RawValue[] = [];
    for (let i = 0; i < n; i++) {
      const head = koffi.decode(values, i * FIELD_VALUE_V1_SIZE, types.head as never) as Omit<RawValue, 'i64'>;
      const i64 = head.fieldType === DCGM_FT_INT64 ? (koffi.decode(values, i * FIELD_VALUE_V1_SIZE, types.headI64 as never) as { i64: number | bigint }).i64 : 0;
      out.push({ ...head, i64 });
    }
    byGpu.set(entityId, out);
    return 0;
  };
  const rc = Number(s.api.call.latestValues?.(s.handle, s.group, s.fieldGroup, cb, null));
  return { rc, byGpu };
}

/** Releases everything openDcgm created, in reverse. */
export function closeDcgm(s: DcgmSession): void {
  const c = s.api.call;
  unwatch(s);
  c.fieldGroupDestroy?.(s.handle, s.fieldGroup);
  c.groupDestroy?.(s.handle, s.group);
  if (s.mode === 'hostengine') c.disconnect?.(s.handle);
  else c.stopEmbedded?.(s.handle);
  shutdownDcgm(s.api);
}
