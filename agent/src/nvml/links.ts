import { counterRateMibps } from '@stagewatch/shared';
import { NVML_ERROR_NOT_SUPPORTED, NVML_SUCCESS, type NvmlApi } from './bindings.js';
import { decodeFieldValues, encodeFieldRequests, FI, NVML_NVLINK_MAX_LINKS, nvlinkSpeedField, SCOPE_ALL_LINKS, type FieldRequest } from './decode.js';

export interface NvlinkInfo {
  /** Links in the active state; null where the GPU has no NVLink (or NVML cannot say). */
  activeLinks: number | null;
  /** Per-link speed in MBps (10^6 bytes/s), one direction. */
  perLinkMBps: number | null;
  /** nvmlDeviceGetNvLinkVersion of the first active link (an nvmlNvlinkVersion_t), for the probe. */
  version: number | null;
  /** Why a value is unknown. */
  reason: string | null;
}

/** One nvmlDeviceGetFieldValues call; null when the call itself fails. */
export function fieldValues(api: NvmlApi, handle: unknown, reqs: readonly FieldRequest[]): ReturnType<typeof decodeFieldValues> | null {
  const f = api.call.fieldValues;
  if (!f || reqs.length === 0) return null;
  const buf = encodeFieldRequests(reqs);
  if (Number(f(handle, reqs.length, buf)) !== NVML_SUCCESS) return null;
  return decodeFieldValues(buf, reqs.length);
}

/**
 * Active NVLink links (nvmlDeviceGetNvLinkState per link) and their speed: the first active
 * link's NVML_FI_DEV_NVLINK_GET_SPEED, else NVML_FI_DEV_NVLINK_SPEED_MBPS_COMMON, else that
 * link's own speed field (older drivers). The link
 * version is not turned into a rate: drivers have reported NVLink 5 for H100 links (25 GB/s).
 */
export function readNvlink(api: NvmlApi, handle: unknown): NvlinkInfo {
  const state = api.call.nvLinkState;
  if (!state) return { activeLinks: null, perLinkMBps: null, version: null, reason: '[Not Supported]' };
  let active = 0;
  let first: number | null = null;
  for (let link = 0; link < NVML_NVLINK_MAX_LINKS; link++) {
    const out = [0];
    const rc = Number(state(handle, link, out));
    if (rc !== NVML_SUCCESS) {
      // Link 0 refused: no NVLink here. A later link refused: past the GPU's link count.
      if (link === 0) return { activeLinks: null, perLinkMBps: null, version: null, reason: `[${api.errorString(rc)}]` };
      break;
    }
    if (out[0] === 1) {
      active++;
      first ??= link;
    }
  }
  if (first === null) return { activeLinks: 0, perLinkMBps: null, version: null, reason: '[no active NVLink]' };
  const reqs: FieldRequest[] = [{ fieldId: FI.NVLINK_GET_SPEED, scopeId: first }, { fieldId: FI.NVLINK_SPEED_MBPS_COMMON }];
  const own = nvlinkSpeedField(first);
  if (own !== null) reqs.push({ fieldId: own });
  const speeds = fieldValues(api, handle, reqs) ?? [];
  const speed = speeds.find((v) => v.ret === NVML_SUCCESS && v.value !== null && v.value > 0)?.value ?? null;
  const ver = [0];
  const version = Number(api.call.nvLinkVersion?.(handle, first, ver)) === NVML_SUCCESS ? (ver[0] as number) : null;
  return { activeLinks: active, perLinkMBps: speed, version, reason: speed === null ? '[link speed unknown]' : null };
}

interface Counter {
  metric: 'pcie_tx_mibps' | 'pcie_rx_mibps' | 'nvlink_tx_mibps' | 'nvlink_rx_mibps';
  req: FieldRequest;
  unitBytes: number;
}

/** Byte counters that stand in for GPM's link rates on GPUs without GPM (Ampere, Ada): one field-values call. */
const COUNTERS: readonly Counter[] = [
  { metric: 'pcie_tx_mibps', req: { fieldId: FI.PCIE_COUNT_TX_BYTES }, unitBytes: 1 },
  { metric: 'pcie_rx_mibps', req: { fieldId: FI.PCIE_COUNT_RX_BYTES }, unitBytes: 1 },
  { metric: 'nvlink_tx_mibps', req: { fieldId: FI.NVLINK_THROUGHPUT_DATA_TX, scopeId: SCOPE_ALL_LINKS }, unitBytes: 1024 },
  { metric: 'nvlink_rx_mibps', req: { fieldId: FI.NVLINK_THROUGHPUT_DATA_RX, scopeId: SCOPE_ALL_LINKS }, unitBytes: 1024 },
];

export interface LinkReading {
  t: number;
  durMs: number;
  m: Record<string, number>;
  absent: Record<string, string>;
}

/**
 * PCIe and NVLink rates from NVML's cumulative byte counters (PCIe: NVML_FI_DEV_PCIE_COUNT_*_BYTES,
 * driver r550+; NVLink: NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_*, KiB, all links), over the time
 * between two reads. A counter the GPU does not support is dropped after the first answer.
 */
export class LinkCounters {
  private counters: Counter[] = [...COUNTERS];
  private prev: { at: number; values: Map<string, number> } | null = null;
  readonly unsupported: Record<string, string> = {};

  constructor(
    private readonly api: NvmlApi,
    private readonly handle: unknown,
  ) {}

  /** True while some counter is still read (none: the GPU supports none of them). */
  live(): boolean {
    return this.counters.length > 0;
  }

  pcieCounted(): boolean {
    return this.counters.some((c) => c.metric.startsWith('pcie'));
  }

  read(now: number): LinkReading | null {
    const got = fieldValues(this.api, this.handle, this.counters.map((c) => c.req));
    if (!got) return null;
    const values = new Map<string, number>();
    const absent: Record<string, string> = { ...this.unsupported };
    got.forEach((v, i) => {
      const c = this.counters[i] as Counter;
      if (v.ret === NVML_SUCCESS && v.value !== null) values.set(c.metric, v.value);
      else absent[c.metric] = `[${this.api.errorString(v.ret)}]`;
      if (v.ret === NVML_ERROR_NOT_SUPPORTED) this.unsupported[c.metric] = absent[c.metric] as string;
    });
    this.counters = this.counters.filter((c) => !(c.metric in this.unsupported));
    const prev = this.prev;
    this.prev = { at: now, values };
    if (!prev) return null;
    const m: Record<string, number> = {};
    for (const c of COUNTERS) {
      const a = prev.values.get(c.metric);
      const b = values.get(c.metric);
      if (a === undefined || b === undefined) continue;
      const r = counterRateMibps(a, b, c.unitBytes, now - prev.at);
      if (r === null) absent[c.metric] = '[counter reset]';
      else m[c.metric] = r;
    }
    return { t: now, durMs: now - prev.at, m, absent };
  }
}
