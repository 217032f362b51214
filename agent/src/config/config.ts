import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  choiceFlagSchema,
  intFlagSchema,
  logFlagsShape,
  numberFlagSchema,
  parseFlags,
  parseFlagValues,
  RunLabelsSchema,
  textFlagSchema,
  UsageError,
  type LogFormat,
  type LogLevel,
  type RunLabels,
} from '@stagewatch/shared';
import type { GpuLibraries } from '../probe.js';
import { GPU_BACKENDS, type GpuBackend } from '../sampling.js';
import { agentUrl } from '../transport/collector-url.js';
import { BATCH_FRAMES, type BatchFrames } from '../transport/frames.js';
import { outExists } from '../transport/run-file.js';
import { agentEnv, type AgentEnv, type Environment } from './environment.js';
import { DAEMON_FLAGS, MARKS_FLAGS, PROBE_FLAGS, RUN_FLAGS, SAMPLE_FLAGS } from './flags.js';

/**
 * The agent's one config: each command's flags, the config file (`--config`), the environment
 * and the defaults resolved here into one typed object, checked by zod. Code below the commands
 * receives values from it and never reads flags or the environment itself.
 */

export interface LogConfig {
  format: LogFormat;
  level: LogLevel;
}

export interface StreamConfig {
  /** `--collector a,b`: sent to one at a time, in this order (see README, "Several collectors"). Empty with `--out` alone. */
  collectors: string[];
  /** `--out FILE`: a portable run file (a new file) the batches are also written to, or only, with no collector. */
  out?: string;
  token?: string;
  runId: string | null;
  host: string;
  intervalMs: number;
  batchMs: number;
  /** `--frames`: JSON text (the default) or columnar frames where the collector takes them (see BATCH_FRAMES). */
  frames: BatchFrames;
  spoolDir: string;
  spoolMaxBytes: number;
  heartbeatMs: number;
  backoffMaxMs: number;
  drainMs: number;
  tee?: string;
  gpuBackend: GpuBackend;
  fingerprintFile?: string;
  dcgm: boolean;
  libraries: GpuLibraries;
  logging: LogConfig;
}

export interface DaemonConfig extends StreamConfig {
  pid?: number;
}

export interface RunConfig extends StreamConfig {
  runId: string;
  labels: RunLabels;
  /** Stage rules: a file of them (`--stages`) or a built-in preset (`--preset`). */
  stages?: { file: string } | { preset: string };
  /** Marks to import from a file once the workload exited (`--marks`). */
  marksFile?: string;
}

export interface MarksConfig extends StreamConfig {
  runId: string;
  shiftMs: number;
  file: string;
}

export interface SampleConfig {
  /** `--out FILE [--run-id ID]`: the samples go to a run file of their own (the given id or a new one) instead of stdout. */
  out?: { file: string; runId: string };
  intervalMs: number;
  durationS: number;
  pid?: number;
  host?: string;
  gpuBackend: GpuBackend;
  dcgm: boolean;
  libraries: GpuLibraries;
  logging: LogConfig;
}

export interface ProbeConfig {
  json: boolean;
  fingerprint: boolean;
  dcgm: boolean;
  libraries: GpuLibraries;
}

const RUN_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

const refuse = (ctx: z.RefinementCtx, message: string): never => {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
};

const required = (message: string) => z.string().optional().transform((v, ctx) => (v === undefined ? refuse(ctx, message) : v));

/** One collector or several, comma-separated, each checked before anything starts; none given: [] (the config asks for --out then). */
const collectorSchema = z.string().optional().transform((v, ctx) => {
  if (v === undefined) return [];
  const urls = v.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) return refuse(ctx, '--collector URL is required');
  try {
    urls.forEach(agentUrl);
  } catch (e) {
    return refuse(ctx, (e as Error).message);
  }
  if (new Set(urls.map(agentUrl)).size !== urls.length) return refuse(ctx, `--collector ${JSON.stringify(v)} names a collector twice`);
  return urls;
});

/** `--out FILE`: a recording is never overwritten, so FILE must not exist yet. */
const outSchema = textFlagSchema('out').transform((v, ctx) => (existsSync(v) ? refuse(ctx, outExists(v).message) : v));
const runIdSchema = z.string().refine((v) => RUN_ID.test(v), { error: (iss) => `--run-id ${JSON.stringify(iss.input)}: use 1-128 letters, digits and ._:@-` });
const pidSchema = intFlagSchema('pid', 1, 2 ** 22);
const gpuBackendSchema = choiceFlagSchema<GpuBackend>('gpu-backend', GPU_BACKENDS).default('auto');

/** Defaults that differ by command: `run` samples at 10 Hz and waits longer to drain. */
interface StreamDefaults {
  intervalMs: number;
  drainS: number;
}

function streamShape(d: StreamDefaults) {
  return {
    ...logFlagsShape,
    config: z.string().optional(),
    collector: collectorSchema,
    token: z.string().optional(),
    'run-id': runIdSchema.optional(),
    host: textFlagSchema('host').optional(),
    'interval-ms': intFlagSchema('interval-ms', 10, 60_000).default(d.intervalMs),
    'batch-ms': intFlagSchema('batch-ms', 10, 60_000).default(500),
    frames: choiceFlagSchema<BatchFrames>('frames', BATCH_FRAMES).default('json'),
    'spool-dir': z.string().optional(),
    'spool-max-mib': numberFlagSchema('spool-max-mib', 0.01, 1 << 20).default(256),
    'heartbeat-ms': intFlagSchema('heartbeat-ms', 100, 600_000).default(10_000),
    'backoff-max-ms': intFlagSchema('backoff-max-ms', 100, 600_000).default(30_000),
    'drain-s': numberFlagSchema('drain-s', 0, 3600).default(d.drainS),
    tee: z.string().optional(),
    out: outSchema.optional(),
    'gpu-backend': gpuBackendSchema,
    'fingerprint-file': z.string().optional(),
    'no-dcgm': z.boolean().optional(),
  };
}

type StreamValues = z.output<z.ZodObject<ReturnType<typeof streamShape>>>;

function streamConfig(v: StreamValues, env: AgentEnv): StreamConfig {
  // --out alone records for a later `stagewatch-collector import` (docs/PORTABLE.md).
  if (v.collector.length === 0 && v.out === undefined) throw new UsageError('--collector URL is required');
  const token = v.token ?? env.token;
  return {
    collectors: v.collector,
    ...(v.out !== undefined ? { out: v.out } : {}),
    ...(token ? { token } : {}),
    runId: v['run-id'] ?? null,
    host: v.host ?? os.hostname(),
    intervalMs: v['interval-ms'],
    batchMs: v['batch-ms'],
    frames: v.frames,
    spoolDir: v['spool-dir'] ?? env.spoolDir,
    spoolMaxBytes: v['spool-max-mib'] * 1024 * 1024,
    heartbeatMs: v['heartbeat-ms'],
    backoffMaxMs: v['backoff-max-ms'],
    drainMs: v['drain-s'] * 1000,
    ...(v.tee !== undefined ? { tee: v.tee } : {}),
    gpuBackend: v['gpu-backend'],
    ...(v['fingerprint-file'] !== undefined ? { fingerprintFile: v['fingerprint-file'] } : {}),
    dcgm: v['no-dcgm'] !== true,
    libraries: env.libraries,
    logging: { format: v['log-format'], level: v['log-level'] },
  };
}

/** `daemon`: stream this host until stopped. */
export function daemonConfig(argv: string[], environment: Environment): DaemonConfig {
  const { values } = parseFlags(argv, DAEMON_FLAGS);
  const schema = z.object({ ...streamShape({ intervalMs: 1000, drainS: 10 }), pid: pidSchema.optional() });
  const v = parseFlagValues(schema, values);
  return { ...streamConfig(v, agentEnv(environment)), ...(v.pid !== undefined ? { pid: v.pid } : {}) };
}

/** `run [flags] -- command`: the flags before the `--`. */
export function runConfig(argv: string[], environment: Environment, now = new Date()): RunConfig {
  const { values } = parseFlags(argv, RUN_FLAGS);
  const labels = parseLabels((values.label as unknown as string[] | undefined) ?? []);
  delete values.label;
  const schema = z.object({
    ...streamShape({ intervalMs: 100, drainS: 30 }),
    preset: z.string().optional(),
    stages: z.string().optional(),
    marks: z.string().optional(),
  });
  const v = parseFlagValues(schema, values);
  const stream = streamConfig(v, agentEnv(environment));
  return {
    ...stream,
    runId: stream.runId ?? generateRunId(stream.host, now),
    labels,
    ...(v.stages !== undefined ? { stages: { file: v.stages } } : v.preset !== undefined ? { stages: { preset: v.preset } } : {}),
    ...(v.marks !== undefined ? { marksFile: v.marks } : {}),
  };
}

/** `marks --run-id ID FILE`: a spool of its own unless one is named (these marks are one batch). */
export function marksConfig(argv: string[], environment: Environment, scratch: () => string = defaultMarksSpool): MarksConfig {
  const { values, positionals } = parseFlags(argv, MARKS_FLAGS, true);
  if (positionals.length !== 1) throw new UsageError(`give exactly one marks file (got ${positionals.length})`);
  if (typeof values['run-id'] !== 'string') throw new UsageError('--run-id is required: marks belong to a run');
  const schema = z.object({ ...streamShape({ intervalMs: 1000, drainS: 30 }), 'shift-ms': numberFlagSchema('shift-ms', -1e13, 1e13).default(0) });
  const v = parseFlagValues(schema, { ...values, 'spool-dir': values['spool-dir'] ?? scratch() });
  const stream = streamConfig(v, agentEnv(environment));
  return { ...stream, runId: stream.runId as string, shiftMs: v['shift-ms'], file: positionals[0] as string };
}

const defaultMarksSpool = (): string => path.join(os.tmpdir(), `stagewatch-marks-${process.pid}-${Date.now()}`);

/** `sample --duration-s S`: JSON lines on stdout, or with `--out FILE [--run-id ID]` a run file. */
export function sampleConfig(argv: string[], environment: Environment, now = new Date()): SampleConfig {
  const { values } = parseFlags(argv, SAMPLE_FLAGS);
  const schema = z.object({
    ...logFlagsShape,
    config: z.string().optional(),
    'gpu-backend': gpuBackendSchema,
    'interval-ms': intFlagSchema('interval-ms', 10, 60_000).default(1000),
    'duration-s': required('--duration-s is required').pipe(numberFlagSchema('duration-s', 0.1, 366 * 86400)),
    pid: pidSchema.optional(),
    host: textFlagSchema('host').optional(),
    'no-dcgm': z.boolean().optional(),
    out: outSchema.optional(),
    'run-id': runIdSchema.optional(),
  });
  const v = parseFlagValues(schema, values);
  if (v['run-id'] !== undefined && v.out === undefined) throw new UsageError('--run-id names the run in an --out file: give --out FILE too');
  return {
    ...(v.out !== undefined ? { out: { file: v.out, runId: v['run-id'] ?? generateRunId(v.host ?? os.hostname(), now) } } : {}),
    intervalMs: v['interval-ms'],
    durationS: v['duration-s'],
    ...(v.pid !== undefined ? { pid: v.pid } : {}),
    ...(v.host !== undefined ? { host: v.host } : {}),
    gpuBackend: v['gpu-backend'],
    dcgm: v['no-dcgm'] !== true,
    libraries: agentEnv(environment).libraries,
    logging: { format: v['log-format'], level: v['log-level'] },
  };
}

/** `probe [--json | --fingerprint]`. */
export function probeConfig(argv: string[], environment: Environment): ProbeConfig {
  const { values } = parseFlags(argv, PROBE_FLAGS);
  return { json: values.json === true, fingerprint: values.fingerprint === true, dcgm: values['no-dcgm'] !== true, libraries: agentEnv(environment).libraries };
}

/** `--label key=value` flags (repeatable) into the run's labels; a bad one is named. */
export function parseLabels(flags: readonly string[]): RunLabels {
  const labels: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label ${JSON.stringify(f)}: give key=value, e.g. --label config=fsdp_ffn_only`);
    const key = f.slice(0, eq);
    if (key in labels) throw new UsageError(`--label ${key} given twice`);
    labels[key] = f.slice(eq + 1);
  }
  const p = RunLabelsSchema.safeParse(labels);
  if (!p.success) {
    const i = p.error.issues[0];
    throw new UsageError(`--label ${i?.path.map(String).join('.') || ''}: ${i?.message ?? 'invalid'}`);
  }
  return p.data;
}

export function generateRunId(host: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40)}-${stamp}-${randomBytes(2).toString('hex')}`;
}
