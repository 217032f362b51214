// The GPU samples the ingest benchmarks send (collector-ingest.mjs, victoria-ingest.mjs): the H100
// capture's nvidia-smi rows (test/fixtures/h100-staged/stream-lms100.csv, 100 ms apart, through
// init, T5, denoise and VAE), as the agent reports them, each GPU of a host at its own place in
// the capture so the GPUs of one batch differ as real ones do.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const lines = readFileSync(path.join(root, 'test/fixtures/h100-staged/stream-lms100.csv'), 'utf8').trim().split('\n');
const rows = lines
  .map((l) => l.split(', '))
  .filter((c) => c.length >= 20 && Number.isFinite(+c[5]) && c[5] !== '')
  .map((c) => ({ util_pct: +c[5], mem_util_pct: +c[6], mem_used_mib: +c[9], mem_total_mib: +c[7], mem_reserved_mib: +c[8], power_w: +c[11], power_limit_w: +c[12], temp_c: +c[13], mem_temp_c: +c[14], sm_clock_mhz: +c[15], mem_clock_mhz: +c[16], sm_clock_max_mhz: +c[17], pcie_link_gen: +c[18], pcie_link_width: +c[19], clock_event_reasons: 1, pstate: 0, mig_enabled: 0, ecc_uncorrected: 0 }));

export const CAPTURE_ROWS = rows.length;
export const METRICS_PER_SAMPLE = Object.keys(rows[0]).length;

/** `steps` readings of each of `gpus` GPUs from capture row `rowStart` on, `stepMs` apart from t0: step-major, as an agent batches them. */
export function benchBatch(host, gpus, rowStart, steps, t0, stepMs = 100) {
  const out = [];
  for (let s = 0; s < steps; s++) {
    for (let g = 0; g < gpus; g++) out.push({ t: Math.round(t0 + s * stepMs), host, source: 'gpu', gpu: g, m: rows[(rowStart + s + g * 37) % rows.length] });
  }
  return out;
}
