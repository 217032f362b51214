import { NVML_ERROR_NOT_FOUND, NVML_SUCCESS, type NvmlApi } from './bindings.js';
import { decodeSamples, NVML_GPU_UTILIZATION_SAMPLES, SAMPLE_BYTES } from './decode.js';

export interface UtilWindow {
  /** End of NVML's sample period (epoch ms) and its length. */
  t: number;
  durMs: number;
  pct: number;
}

/** NVML samples utilization every 1/6 s to 1 s depending on the product; anything outside this is not a period. */
const MAX_PERIOD_MS = 2000;
/** NVML timestamps are the host's clock in µs: further than this from ours, they are something else. */
const MAX_SKEW_MS = 60_000;

/**
 * Utilization windows from nvmlDeviceGetSamples readings newer than `lastUs`: each reading covers
 * the time since the one before it. Pure; says what is wrong when the readings cannot be windows
 * (timestamps that go back, are not the host clock, or values outside 0-100), so the caller can
 * fall back to nvmlDeviceGetUtilizationRates.
 */
export function utilWindows(lastUs: number, readings: ReadonlyArray<{ tsUs: number; value: number | null }>, nowMs: number): { windows: UtilWindow[]; lastUs: number } | { problem: string } {
  const windows: UtilWindow[] = [];
  let prev = lastUs;
  for (const r of [...readings].sort((a, b) => a.tsUs - b.tsUs)) {
    if (r.tsUs <= prev) continue;
    const t = r.tsUs / 1000;
    if (Math.abs(t - nowMs) > MAX_SKEW_MS) return { problem: `sample timestamp ${r.tsUs} µs is not this host's clock (now ${nowMs} ms)` };
    if (r.value === null || r.value < 0 || r.value > 100) return { problem: `sample value ${r.value} is not a percentage` };
    const durMs = (r.tsUs - prev) / 1000;
    // The first reading after a long gap (or the very first) has no known period: it only sets the start.
    if (prev > 0 && durMs <= MAX_PERIOD_MS) windows.push({ t: Math.round(t), durMs: Math.round(durMs), pct: r.value });
    prev = r.tsUs;
  }
  return { windows, lastUs: prev };
}

/**
 * GPU utilization with NVML's own sample times (nvmlDeviceGetSamples, NVML_GPU_UTILIZATION_SAMPLES):
 * util_pct stands for the period NVML measured, not for the moment the agent asked.
 */
export class UtilSamples {
  private lastUs = 0;
  private primed = false;
  private buf = Buffer.alloc(64 * SAMPLE_BYTES);
  /** Why the samples cannot be used on this GPU, once known. */
  problem: string | null = null;

  constructor(
    private readonly api: NvmlApi,
    private readonly handle: unknown,
  ) {
    if (!api.call.samples) this.problem = 'nvmlDeviceGetSamples missing';
  }

  /** New windows since the last call; null once the samples proved unusable (see `problem`). */
  read(nowMs: number): UtilWindow[] | null {
    if (this.problem) return null;
    const type = [0];
    const count = [this.buf.length / SAMPLE_BYTES];
    const rc = Number(this.api.call.samples?.(this.handle, NVML_GPU_UTILIZATION_SAMPLES, this.lastUs, type, count, this.buf));
    if (rc === NVML_ERROR_NOT_FOUND) return []; // nothing newer than lastUs
    if (rc !== NVML_SUCCESS) {
      this.problem = `nvmlDeviceGetSamples: ${this.api.errorString(rc)}`;
      return null;
    }
    const got = utilWindows(this.lastUs, decodeSamples(this.buf, count[0] as number, type[0] as number), nowMs);
    if ('problem' in got) {
      this.problem = got.problem;
      return null;
    }
    this.lastUs = got.lastUs;
    // The first call returns NVML's whole history: it only sets where the windows start.
    if (!this.primed) {
      this.primed = true;
      return [];
    }
    return got.windows;
  }
}
