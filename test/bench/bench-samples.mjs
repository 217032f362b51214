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

/** One 8-GPU host as an agent sends it (retention.mjs, pg-retention-run.mjs). */
export const GPUS = 8;
export const LOSS = { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 };
export const hello = (agentId, host) => ({ type: 'hello', protocol: 1, agentId, host, runId: null, gpus: Array.from({ length: GPUS }, (_, i) => ({ index: i, uuid: `GPU-${host}-${i}`, name: 'NVIDIA H100 80GB HBM3', memTotalMib: 81559 })), capabilities: { gpm: true, fields: [] }, agentVersion: 'bench' });

/** Batch k (500 ms from t0 + k * 500) of one 8-GPU host, as the agent sends it. */
export function hostBatch(host, k, t0) {
  const start = t0 + k * 500;
  const samples = benchBatch(host, GPUS, k * 5, 5, start + 100).map((s) => ({ ...s, dur_ms: 100 }));
  for (let i = 1; i <= 5; i++) {
    const t = start + i * 100;
    samples.push({ t, host, source: 'host', dur_ms: 100, m: { cpu_pct: 10 + (k % 7), cpu_core_max_pct: 40 + (k % 13), load1: 1.5, mem_used_mib: 90_000 + (k % 100), mem_available_mib: 1_900_000, disk_read_mibps: 0, disk_write_mibps: 0.4, net_rx_mibps: 1.2, net_tx_mibps: 0.8 } });
    samples.push({ t, host, source: 'proc', dur_ms: 100, m: { cpu_cores: 1.1 + (k % 5) / 10, rss_mib: 24_000 + (k % 50), threads: 180, procs: 9 } });
  }
  if (k % 2 === 1) for (let g = 0; g < GPUS; g++) samples.push({ t: start + 500, host, source: 'gpu', gpu: g, dur_ms: 1000, m: { sm_active_pct: 80 + ((k + g) % 9), sm_occupancy_pct: 35, tensor_active_pct: 60 + (k % 11), dram_active_pct: 25 } });
  return samples;
}

/**
 * Each of `agents` agents (registered as `${tag}-${a}`, hids in `regs`) submits a host batch every
 * 500 ms, spread evenly over the half second, for `seconds`; resolves with each batch's
 * submit-to-ack latency in ms.
 */
export async function paceHostBatches(ingest, pendingBatch, regs, tag, agents, seconds) {
  const lat = [];
  const start = Date.now();
  let k = 0;
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const due = Math.floor(((Date.now() - start) / 500) * agents);
      for (; k < due; k++) {
        const a = k % agents;
        const seq = Math.floor(k / agents) + 1;
        const sent = performance.now();
        ingest.submit(pendingBatch(`${tag}-${a}`, regs[a].hid, `${tag}-${a}`, { type: 'batch', seq, runId: null, samples: hostBatch(`${tag}-${a}`, seq, start), health: [], marks: [], clock: null, loss: LOSS }), () => lat.push(performance.now() - sent));
      }
      if (Date.now() - start >= seconds * 1000) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  return lat;
}
