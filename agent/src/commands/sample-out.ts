import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '@stagewatch/shared';
import type { GpuBackend, Sampling } from '../sampling.js';
import { startStreaming, type StopSummary } from '../streaming.js';
import { generateRunId } from './run.js';

export interface SampleFileOptions {
  out: string;
  runId: string | undefined;
  intervalMs: number;
  gpuBackend: GpuBackend;
  dcgm?: false;
  pid?: number;
  host?: string;
  log: (msg: string) => void;
}

/**
 * `sample --out FILE`: the samples go into a portable run file (a run of their own, --run-id or a
 * new id) instead of stdout, for `stagewatch-collector import` on a machine that has a collector.
 * Batches pass through a spool of this invocation's own, removed afterwards: it gives the file a
 * fresh agent id and sequence, which is all the import needs to store each batch once.
 */
export async function startSampleFile(o: SampleFileOptions): Promise<{ sampling: Sampling; runId: string; stop(): Promise<StopSummary> }> {
  if (o.runId !== undefined && !/^[A-Za-z0-9._:@-]{1,128}$/.test(o.runId)) throw new UsageError(`--run-id ${JSON.stringify(o.runId)}: use 1-128 letters, digits and ._:@-`);
  const host = o.host ?? os.hostname();
  const runId = o.runId ?? generateRunId(host);
  const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-sample-'));
  try {
    const streaming = await startStreaming({
      collector: null,
      out: o.out,
      runId,
      host,
      batchMs: 500,
      spoolDir,
      spoolMaxBytes: 64 * 1024 * 1024,
      intervalMs: o.intervalMs,
      gpuBackend: o.gpuBackend,
      ...(o.dcgm === false ? { dcgm: false } : {}),
      ...(o.pid !== undefined ? { pid: o.pid } : {}),
      log: o.log,
    });
    return {
      sampling: streaming.sampling,
      runId,
      async stop() {
        try {
          // The recording is the run: it ends when sampling does (no workload, so no exit code).
          streaming.link.streamer.endRun(Date.now(), null);
          return await streaming.stop(0);
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
