/**
 * NVML structs that come back in arrays, read from raw Buffers: layouts and ids from NVIDIA's
 * public nvml.h (driver r550+ for the PCIe byte counters; the rest r470+), little-endian x86-64 /
 * arm64. Pure functions, so the layouts are tested without a GPU.
 */

// Field value ids (nvmlDeviceGetFieldValues).
export const FI = {
  NVLINK_SPEED_MBPS_COMMON: 90,
  /** NVLink speed in MBps of the link in scopeId (r535+; what NCCL asks). The H200 answers neither 90 nor 84-89. */
  NVLINK_GET_SPEED: 164,
  NVLINK_LINK_COUNT: 91,
  /** Per-link speed fields for links 0-5 are 84-89, links 6-11 are 132-137. */
  NVLINK_THROUGHPUT_DATA_TX: 138,
  NVLINK_THROUGHPUT_DATA_RX: 139,
  PCIE_COUNT_TX_BYTES: 197,
  PCIE_COUNT_RX_BYTES: 198,
} as const;
/** scopeId for NVLink throughput fields: the sum over all links. */
export const SCOPE_ALL_LINKS = 0xffffffff;
export const NVML_NVLINK_MAX_LINKS = 18;
export const NVML_GPU_UTILIZATION_SAMPLES = 1;
export const NVML_PCIE_UTIL_TX_BYTES = 0;
export const NVML_PCIE_UTIL_RX_BYTES = 1;

/** Speed field of one link (links 0-11 have one; 12-17 share the common field only). */
export function nvlinkSpeedField(link: number): number | null {
  if (link >= 0 && link <= 5) return 84 + link;
  if (link >= 6 && link <= 11) return 132 + link - 6;
  return null;
}

/** nvmlFieldValue_t: fieldId u32, scopeId u32, timestamp i64 (µs), latencyUsec i64, valueType i32, nvmlReturn i32, value (8-byte union). */
export const FIELD_VALUE_BYTES = 40;
/** nvmlSample_t: timeStamp u64 (µs), value (8-byte union). */
export const SAMPLE_BYTES = 16;
/** nvmlProcessInfo_t (the _v3 call): pid u32, pad, usedGpuMemory u64, gpuInstanceId u32, computeInstanceId u32. */
export const PROCESS_INFO_BYTES = 24;
/** nvmlProcessUtilizationSample_t: pid u32, pad, timeStamp u64 (µs), smUtil, memUtil, encUtil, decUtil u32. */
export const PROCESS_UTIL_BYTES = 32;

const NOT_AVAILABLE = 0xffffffffffffffffn;

/** An nvmlValue_t union by its nvmlValueType_t; null for a type we do not know. */
export function readValue(buf: Buffer, offset: number, valueType: number): number | null {
  switch (valueType) {
    case 0:
      return buf.readDoubleLE(offset);
    case 1:
      return buf.readUInt32LE(offset);
    case 2: // unsigned long: 8 bytes on the 64-bit Linux targets NVML ships for
    case 3:
      return Number(buf.readBigUInt64LE(offset));
    case 4:
      return Number(buf.readBigInt64LE(offset));
    case 5:
      return buf.readInt32LE(offset);
    case 6:
      return buf.readUInt16LE(offset);
    default:
      return null;
  }
}

export interface FieldRequest {
  fieldId: number;
  scopeId?: number;
}

export interface FieldValue {
  fieldId: number;
  scopeId: number;
  ret: number;
  value: number | null;
  timestampUs: number;
}

/** A zeroed request array for nvmlDeviceGetFieldValues. */
export function encodeFieldRequests(reqs: readonly FieldRequest[]): Buffer {
  const buf = Buffer.alloc(reqs.length * FIELD_VALUE_BYTES);
  reqs.forEach((r, i) => {
    buf.writeUInt32LE(r.fieldId, i * FIELD_VALUE_BYTES);
    buf.writeUInt32LE(r.scopeId ?? 0, i * FIELD_VALUE_BYTES + 4);
  });
  return buf;
}

export function decodeFieldValues(buf: Buffer, count: number): FieldValue[] {
  const out: FieldValue[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * FIELD_VALUE_BYTES;
    const ret = buf.readInt32LE(o + 28);
    out.push({
      fieldId: buf.readUInt32LE(o),
      scopeId: buf.readUInt32LE(o + 4),
      timestampUs: Number(buf.readBigInt64LE(o + 8)),
      ret,
      value: ret === 0 ? readValue(buf, o + 32, buf.readInt32LE(o + 24)) : null,
    });
  }
  return out;
}

export function decodeSamples(buf: Buffer, count: number, valueType: number): Array<{ tsUs: number; value: number | null }> {
  const out: Array<{ tsUs: number; value: number | null }> = [];
  for (let i = 0; i < count; i++) {
    const o = i * SAMPLE_BYTES;
    out.push({ tsUs: Number(buf.readBigUInt64LE(o)), value: readValue(buf, o + 8, valueType) });
  }
  return out;
}

/** Running processes: pid and device memory in bytes (null where NVML reports it unavailable). */
export function decodeProcessInfos(buf: Buffer, count: number): Array<{ pid: number; usedBytes: number | null }> {
  const out: Array<{ pid: number; usedBytes: number | null }> = [];
  for (let i = 0; i < count; i++) {
    const o = i * PROCESS_INFO_BYTES;
    const used = buf.readBigUInt64LE(o + 8);
    out.push({ pid: buf.readUInt32LE(o), usedBytes: used === NOT_AVAILABLE ? null : Number(used) });
  }
  return out;
}

export function decodeProcessUtil(buf: Buffer, count: number): Array<{ pid: number; tsUs: number; sm: number; mem: number }> {
  const out: Array<{ pid: number; tsUs: number; sm: number; mem: number }> = [];
  for (let i = 0; i < count; i++) {
    const o = i * PROCESS_UTIL_BYTES;
    out.push({ pid: buf.readUInt32LE(o), tsUs: Number(buf.readBigUInt64LE(o + 8)), sm: buf.readUInt32LE(o + 16), mem: buf.readUInt32LE(o + 20) });
  }
  return out;
}
