import type { GpuHolder, GpuProcessSource, GpuProcessUtil } from '../samplers/types.js';
import { NVML_ERROR_INSUFFICIENT_SIZE, NVML_ERROR_NOT_FOUND, NVML_SUCCESS, type NvmlApi } from './bindings.js';
import { decodeProcessInfos, decodeProcessUtil, PROCESS_INFO_BYTES, PROCESS_UTIL_BYTES } from './decode.js';

/** Which process holds which GPU changes rarely: once a second. */
export const HOLDERS_EVERY_MS = 1000;
/**
 * NVML keeps per-process utilization samples in a buffer and answers every one since lastSeen
 * (the H100 asked for room for more than 64), so reading once a second loses none: at every tick
 * the call cost 0.2 % of a core there (Node CPU profile, docs/gpu-run-h100/agent-cost/).
 */
export const PROCESS_UTIL_READ_MS = 1000;
/** A per-process reading is NVML's sample period long; without an earlier one to measure it from, assume at most this. */
const MAX_PERIOD_MS = 2000;

export interface ProcessDevice {
  index: number;
  handle: unknown;
}

/**
 * Workload processes on GPUs through NVML: nvmlDeviceGetComputeRunningProcesses_v3 (pid, device
 * memory) once a second, nvmlDeviceGetProcessUtilization (per-process SM utilization with NVML's
 * timestamps) at the sampling interval within a small CPU budget.
 */
export class NvmlProcesses implements GpuProcessSource {
  private held = new Map<number, GpuHolder[]>();
  private heldAt = -Infinity;
  private infoBuf = Buffer.alloc(64 * PROCESS_INFO_BYTES);
  private utilBuf = Buffer.alloc(64 * PROCESS_UTIL_BYTES);
  private readonly lastSeen = new Map<number, number>();
  private readonly lastPidTs = new Map<string, number>();
  /** Per GPU: the shortest gap seen between two readings of one process, i.e. NVML's sample period. */
  private readonly period = new Map<number, number>();
  private utilAt = -Infinity;
  /** Per GPU: why a call failed, when it did (for the probe and health). */
  readonly errors = new Map<string, string>();
  /** Processes NVML listed at the last read, over all GPUs. */
  listed = 0;

  constructor(
    private readonly api: NvmlApi,
    private readonly devices: readonly ProcessDevice[],
    private readonly tickMs: number,
  ) {}

  holders(now: number): ReadonlyMap<number, readonly GpuHolder[]> {
    if (now - this.heldAt < HOLDERS_EVERY_MS) return this.held;
    this.heldAt = now;
    const held = new Map<number, GpuHolder[]>();
    let listed = 0;
    for (const d of this.devices) {
      for (const p of this.running(d) ?? []) {
        listed++;
        const list = held.get(p.pid) ?? [];
        list.push({ gpu: d.index, memMib: p.usedBytes === null ? null : p.usedBytes / 1048576 });
        held.set(p.pid, list);
      }
    }
    this.held = held;
    this.listed = listed;
    return held;
  }

  private running(d: ProcessDevice): Array<{ pid: number; usedBytes: number | null }> | null {
    const f = this.api.call.computeProcs;
    if (!f) return null;
    for (let attempt = 0; attempt < 2; attempt++) {
      const count = [this.infoBuf.length / PROCESS_INFO_BYTES];
      const rc = Number(f(d.handle, count, this.infoBuf));
      if (rc === NVML_SUCCESS) {
        this.errors.delete(`running ${d.index}`);
        return decodeProcessInfos(this.infoBuf, count[0] as number);
      }
      if (rc !== NVML_ERROR_INSUFFICIENT_SIZE) {
        this.errors.set(`running ${d.index}`, this.api.errorString(rc));
        return null;
      }
      // More processes than the buffer holds: NVML said how many; make room and ask again.
      this.infoBuf = Buffer.alloc(((count[0] as number) + 16) * PROCESS_INFO_BYTES);
    }
    return null;
  }

  utilization(now: number): readonly GpuProcessUtil[] {
    const f = this.api.call.processUtil;
    if (!f || now - this.utilAt < PROCESS_UTIL_READ_MS - this.tickMs / 2) return [];
    this.utilAt = now;
    const out: GpuProcessUtil[] = [];
    for (const d of this.devices) {
      // From the first call on: readings older than the agent's start are not this run's.
      if (!this.lastSeen.has(d.index)) this.lastSeen.set(d.index, Math.round(now * 1000));
      const since = this.lastSeen.get(d.index) as number;
      let count = [this.utilBuf.length / PROCESS_UTIL_BYTES];
      let rc = Number(f(d.handle, this.utilBuf, count, since));
      if (rc === NVML_ERROR_INSUFFICIENT_SIZE) {
        // The H100 asked for more room than 64 samples: NVML said how many; make room and ask again.
        this.utilBuf = Buffer.alloc(((count[0] as number) + 16) * PROCESS_UTIL_BYTES);
        count = [this.utilBuf.length / PROCESS_UTIL_BYTES];
        rc = Number(f(d.handle, this.utilBuf, count, since));
      }
      if (rc === NVML_ERROR_NOT_FOUND) continue; // no reading newer than `since`
      if (rc !== NVML_SUCCESS) {
        this.errors.set(`utilization ${d.index}`, this.api.errorString(rc));
        continue;
      }
      this.errors.delete(`utilization ${d.index}`);
      let last = since;
      // Oldest first: the gap to the previous reading of a process is what gives its period.
      for (const s of decodeProcessUtil(this.utilBuf, count[0] as number).sort((a, b) => a.tsUs - b.tsUs)) {
        if (s.tsUs <= since) continue;
        last = Math.max(last, s.tsUs);
        const key = `${d.index}:${s.pid}`;
        const before = this.lastPidTs.get(key);
        this.lastPidTs.set(key, s.tsUs);
        const gap = before === undefined ? null : (s.tsUs - before) / 1000;
        // NVML's sample period is the shortest gap between two readings of one process. A process
        // with no SM use in a period gets no reading for it, so a gap can span several periods
        // while the value covers the last one only.
        if (gap !== null && gap >= 10) this.period.set(d.index, Math.min(this.period.get(d.index) ?? gap, gap));
        const period = this.period.get(d.index);
        const durMs = period === undefined ? null : gap === null ? period : Math.min(gap, period);
        if (durMs !== null && durMs > 0 && durMs <= MAX_PERIOD_MS && s.sm <= 100) out.push({ pid: s.pid, gpu: d.index, t: Math.round(s.tsUs / 1000), durMs: Math.round(durMs), smPct: s.sm });
      }
      this.lastSeen.set(d.index, last);
    }
    return out;
  }
}
