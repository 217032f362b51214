import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SampleConfig } from '../config/config.js';
import { startStreaming } from '../streaming.js';

/** A `sample` in progress: SIGUSR2's target, and stop(), which gives the command's exit status. */
export interface SampleRecording {
  toggleDcgmPause(): string | null;
  stop(): Promise<number>;
}

/**
 * `sample --out FILE`: the samples go into a portable run file (a run of their own, --run-id or a
 * new id) instead of stdout, for `stagewatch-collector import` on a machine that has a collector.
 * Batches pass through a spool of this invocation's own, removed afterwards: it gives the file a
 * fresh agent id and sequence, which is all the import needs to store each batch once.
 */
export async function startSampleFile(config: SampleConfig, out: { file: string; runId: string }, log: (msg: string) => void): Promise<SampleRecording> {
  const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-sample-'));
  try {
    const pipeline = await startStreaming({
      collectors: [],
      out: out.file,
      runId: out.runId,
      host: config.host ?? os.hostname(),
      batchMs: 500,
      spoolDir,
      spoolMaxBytes: 64 * 1024 * 1024,
      intervalMs: config.intervalMs,
      gpuBackend: config.gpuBackend,
      libraries: config.libraries,
      dcgm: config.dcgm,
      ...(config.pid !== undefined ? { pid: config.pid } : {}),
      log,
    });
    return {
      toggleDcgmPause: () => pipeline.toggleDcgmPause(),
      async stop() {
        try {
          // The recording is the run: it ends when sampling does (no workload, so no exit code).
          pipeline.endRun({ t: Date.now(), exitCode: null });
          const summary = await pipeline.shutdown(0);
          log(`run ${out.runId}: ${summary.samples} samples in ${summary.out?.batches ?? 0} batches written to ${out.file}${summary.out?.error ? `; ERROR: ${summary.out.error}` : ''}`);
          return summary.out?.error ? 1 : 0;
        } finally {
          rmSync(spoolDir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    rmSync(spoolDir, { recursive: true, force: true });
    throw e;
  }
}
