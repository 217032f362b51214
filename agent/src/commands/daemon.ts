import os from 'node:os';
import path from 'node:path';
import { COMMON_FLAGS, intFlag, loggerFromFlags, numberFlag, parseFlags, UsageError } from '@stagewatch/shared';
import { loadFingerprintFile } from '../fingerprint/index.js';
import { GPU_BACKENDS, type GpuBackend } from '../sampling.js';
import { startStreaming } from '../streaming.js';
import { agentUrl } from '../transport/collector-url.js';
import { destination } from '../transport/run-file.js';

export const STREAM_FLAGS = {
  ...COMMON_FLAGS,
  collector: { type: 'string' },
  token: { type: 'string' },
  'run-id': { type: 'string' },
  host: { type: 'string' },
  'interval-ms': { type: 'string' },
  'batch-ms': { type: 'string' },
  'spool-dir': { type: 'string' },
  'spool-max-mib': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'backoff-max-ms': { type: 'string' },
  'drain-s': { type: 'string' },
  tee: { type: 'string' },
  out: { type: 'string' },
  'gpu-backend': { type: 'string' },
  'fingerprint-file': { type: 'string' },
  'no-dcgm': { type: 'boolean' },
} as const;

export function gpuBackendFlag(values: Record<string, string | boolean | undefined>): GpuBackend {
  const v = values['gpu-backend'] ?? 'auto';
  if (!GPU_BACKENDS.includes(v as GpuBackend)) throw new UsageError(`--gpu-backend must be one of ${GPU_BACKENDS.join(', ')} (got ${JSON.stringify(v)})`);
  return v as GpuBackend;
}

export function defaultSpoolDir(): string {
  const base = process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'stagewatch', 'spool');
}

export function streamOptions(values: Record<string, string | boolean | undefined>, log: (m: string) => void) {
  const collector = typeof values.collector === 'string' ? values.collector : null;
  const out = typeof values.out === 'string' ? values.out : undefined;
  // --out alone records for a later `stagewatch-collector import` (docs/PORTABLE.md).
  if (collector === null && out === undefined) throw new UsageError('--collector URL is required (or --out FILE, to record without one)');
  if (collector !== null) agentUrl(collector); // refuses what is not a collector address, before anything starts
  const runId = values['run-id'];
  if (typeof runId === 'string' && !/^[A-Za-z0-9._:@-]{1,128}$/.test(runId)) {
    throw new UsageError(`--run-id ${JSON.stringify(runId)}: use 1-128 letters, digits and ._:@-`);
  }
  const token = (values.token as string | undefined) ?? process.env.STAGEWATCH_TOKEN;
  return {
    collector,
    ...(out !== undefined ? { out } : {}),
    ...(token ? { token } : {}),
    runId: typeof runId === 'string' ? runId : null,
    ...(typeof values.host === 'string' ? { host: values.host } : {}),
    intervalMs: intFlag(values, 'interval-ms', 10, 60_000, 1000),
    batchMs: intFlag(values, 'batch-ms', 10, 60_000, 500),
    spoolDir: (values['spool-dir'] as string | undefined) ?? defaultSpoolDir(),
    spoolMaxBytes: numberFlag(values, 'spool-max-mib', 0.01, 1 << 20, 256) * 1024 * 1024,
    heartbeatMs: intFlag(values, 'heartbeat-ms', 100, 600_000, 10_000),
    backoffMaxMs: intFlag(values, 'backoff-max-ms', 100, 600_000, 30_000),
    ...(typeof values.tee === 'string' ? { tee: values.tee } : {}),
    gpuBackend: gpuBackendFlag(values),
    ...(typeof values['fingerprint-file'] === 'string' ? { fingerprint: loadFingerprintFile(values['fingerprint-file']) } : {}),
    ...(values['no-dcgm'] === true ? { dcgm: false } : {}),
    log,
  };
}

/** SIGUSR2 pauses DCGM profiling (so Nsight can profile) and resumes it; returns the unhook. */
export function onDcgmPauseSignal(sampling: { toggleDcgmPause(): string | null }, log: (m: string) => void): () => void {
  const toggle = (): void => log(sampling.toggleDcgmPause() ?? 'SIGUSR2: no DCGM profiling to pause on this host');
  process.on('SIGUSR2', toggle);
  return () => void process.off('SIGUSR2', toggle);
}

/** `daemon --collector URL`: stream this host continuously until SIGTERM/SIGINT. */
export async function daemonCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...STREAM_FLAGS, pid: { type: 'string' } });
  const log = loggerFromFlags('stagewatch-agent', values);
  const opts = streamOptions(values, log);
  const drainMs = numberFlag(values, 'drain-s', 0, 3600, 10) * 1000;
  const pid = values.pid === undefined ? undefined : intFlag(values, 'pid', 1, 2 ** 22);
  let fatal: string | null = null;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const streaming = await startStreaming({
    ...opts,
    ...(pid !== undefined ? { pid } : {}),
    // A collector that refuses us for good (wrong token, wrong address) ends the daemon with exit 2.
    onFatal: (msg) => {
      fatal = msg;
      wake();
    },
  });
  log(`streaming ${streaming.link.spool.agentId} to ${destination(opts.collector, opts.out)} (${opts.runId ? `run ${opts.runId}` : 'host timeline'}), spool ${opts.spoolDir}`);
  const stopPauseToggle = onDcgmPauseSignal(streaming.sampling, log);
  await stopped;
  stopPauseToggle();
  const summary = await streaming.stop(fatal ? 0 : drainMs);
  log(`summary ${JSON.stringify(summary)}`);
  return fatal ? 2 : 0;
}
