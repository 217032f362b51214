import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { COMMON_FLAGS, intFlag, loggerFromFlags, numberFlag, parseFlags, UsageError } from '@stagewatch/shared';
import { startSampling } from '../sampling.js';
import { gpuBackendFlag, onDcgmPauseSignal } from './daemon.js';
import { startSampleFile } from './sample-out.js';

export const SAMPLE_FLAGS = {
  ...COMMON_FLAGS,
  'interval-ms': { type: 'string' },
  'duration-s': { type: 'string' },
  pid: { type: 'string' },
  host: { type: 'string' },
  'gpu-backend': { type: 'string' },
  'no-dcgm': { type: 'boolean' },
  out: { type: 'string' },
  'run-id': { type: 'string' },
} as const;

/** `sample --interval-ms N --duration-s S [--pid P] [--out FILE [--run-id ID]]`: JSON lines on stdout (or a run file), then exit. */
export async function sampleCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, SAMPLE_FLAGS);
  const log = loggerFromFlags('stagewatch-agent', values, false);
  const gpuBackend = gpuBackendFlag(values);
  const intervalMs = intFlag(values, 'interval-ms', 10, 60_000, 1000);
  const durationS = numberFlag(values, 'duration-s', 0.1, 366 * 86400);
  const pid = values.pid === undefined ? undefined : intFlag(values, 'pid', 1, 2 ** 22);
  if (pid !== undefined) {
    try {
      await access(`/proc/${pid}`);
    } catch {
      throw new UsageError(`--pid ${pid}: no such process`);
    }
  }
  const host = typeof values.host === 'string' ? values.host : undefined;
  if (host !== undefined && host.trim() === '') throw new UsageError('--host must not be empty');
  // A tick emits several samples: they go out in one write (one syscall) once the tick is done.
  let pending = '';
  const out = (o: unknown): void => {
    if (pending === '') setImmediate(() => {
      if (!process.stdout.destroyed) process.stdout.write(pending);
      pending = '';
    });
    pending += `${JSON.stringify(o)}\n`;
  };
  if (values['run-id'] !== undefined && values.out === undefined) throw new UsageError('--run-id names the run in an --out file: give --out FILE too');
  const file = typeof values.out === 'string'
    ? await startSampleFile({ out: values.out, runId: values['run-id'] as string | undefined, intervalMs, gpuBackend, log, ...(values['no-dcgm'] === true ? { dcgm: false as const } : {}), ...(pid !== undefined ? { pid } : {}), ...(host !== undefined ? { host } : {}) })
    : null;
  const sampling = file?.sampling ?? await startSampling({
    intervalMs,
    gpuBackend,
    ...(values['no-dcgm'] === true ? { dcgm: false } : {}),
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
    await sleep(durationS * 1000, undefined, { signal: stopSignal.signal });
  } catch {
    // interrupted: stop early, cleanly
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  stopPauseToggle();
  if (!file) {
    await sampling.stop();
    return 0;
  }
  const summary = await file.stop();
  log(`run ${file.runId}: ${summary.samples} samples in ${summary.out?.batches ?? 0} batches written to ${values.out as string}${summary.out?.error ? `; ERROR: ${summary.out.error}` : ''}`);
  return summary.out?.error ? 1 : 0;
}
