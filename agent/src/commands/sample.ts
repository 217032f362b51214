import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeLogger, UsageError } from '@stagewatch/shared';
import { sampleConfig } from '../config/config.js';
import type { Environment } from '../config/environment.js';
import { startSampling, type SamplingOptions } from '../sampling.js';
import { startSampleFile, type SampleRecording } from './sample-out.js';
import { onDcgmPauseSignal } from './signals.js';

/** `sample --interval-ms N --duration-s S [--pid P] [--out FILE [--run-id ID]]`: JSON lines on stdout (or a run file), then exit. */
export async function sampleCommand(argv: string[], env: Environment): Promise<number> {
  const config = sampleConfig(argv, env);
  const log = makeLogger('stagewatch-agent', { ...config.logging, timestamps: false });
  const { pid, host } = config;
  if (pid !== undefined) {
    try {
      await access(`/proc/${pid}`);
    } catch {
      throw new UsageError(`--pid ${pid}: no such process`);
    }
  }
  // A tick emits several samples: they go out in one write (one syscall) once the tick is done.
  let pending = '';
  const out = (o: unknown): void => {
    if (pending === '') setImmediate(() => {
      if (!process.stdout.destroyed) process.stdout.write(pending);
      pending = '';
    });
    pending += `${JSON.stringify(o)}\n`;
  };
  const sampling = config.out
    ? await startSampleFile(config, config.out, log)
    : await startStdout({
        intervalMs: config.intervalMs,
        gpuBackend: config.gpuBackend,
        libraries: config.libraries,
        dcgm: config.dcgm,
        ...(pid !== undefined ? { pid } : {}),
        ...(host !== undefined ? { host } : {}),
        log,
        onSample: out,
        onHealth: out,
      });
  const stopPauseToggle = onDcgmPauseSignal(sampling, log);
  const stopSignal = new AbortController();
  const onSignal = (): void => stopSignal.abort();
  // A reader that goes away (`| head`) ends sampling quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') stopSignal.abort();
    else throw e;
  });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await sleep(config.durationS * 1000, undefined, { signal: stopSignal.signal });
  } catch {
    // interrupted: stop early, cleanly
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  stopPauseToggle();
  return sampling.stop();
}

/** Samples as JSON lines on stdout (the samplers' callbacks write them): stopping is all there is to it. */
async function startStdout(opts: SamplingOptions): Promise<SampleRecording> {
  const sampling = await startSampling(opts);
  return {
    toggleDcgmPause: () => sampling.toggleDcgmPause(),
    stop: async () => {
      await sampling.stop();
      return 0;
    },
  };
}
