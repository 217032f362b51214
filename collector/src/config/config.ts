import { existsSync } from 'node:fs';
import { z } from 'zod';
import {
  choiceFlagSchema,
  intFlagSchema,
  logFlagsShape,
  numberFlag,
  parseFlags,
  parseFlagValues,
  RUN_FILE_SUFFIX,
  UsageError,
  type Environment,
  type LogFormat,
  type LogLevel,
} from '@stagewatch/shared';
import { isLoopback, MIN_TOKEN_LENGTH } from '../auth.js';
import { COMPARE_FORMATS, type CompareFormat } from '../report/compare-render.js';
import type { CompareRequest } from '../report/compare-load.js';
import { REPORT_FORMATS, type ReportFormat } from '../report/index.js';
import type { InfluxOptions } from '../sinks/influx.js';
import type { RetentionPolicy } from '../store/retention/pruner.js';
import { durationFlagSchema, durationText } from './duration.js';
import { COMPARE_FLAGS, EXPORT_FLAGS, IMPORT_FLAGS, REPORT_FLAGS, SERVE_FLAGS } from './flags.js';

/**
 * The collector's one config: each command's flags, the config file (`--config`), the
 * environment and the defaults resolved here into one typed object, checked by zod. Code below
 * the commands receives values from it and never reads flags or the environment itself.
 */

export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  /** Where agents' tokens come from: one token (--token or STAGEWATCH_TOKEN), a file of them, or none (loopback only). */
  tokens: { token: string } | { file: string } | null;
  tls?: { certFile: string; keyFile: string };
  heartbeatMs: number;
  helloTimeoutMs: number;
  maxPayloadBytes: number;
  influx: InfluxOptions | null;
  /** `--store postgres://...` (or STAGEWATCH_PG_URL): a PostgreSQL database instead of DATA's SQLite file. */
  pgUrl?: string;
  logging: { format: LogFormat; level: LogLevel };
  /** --retain-raw, --retain-1s, --retain-10s (docs/STORE.md): ms each resolution is kept, 0 for good. */
  retention: RetentionPolicy;
}

export interface ReportConfig {
  runId: string;
  vs?: string;
  format: ReportFormat;
  dataDir: string;
  thresholdsFile?: string;
  out?: string;
  /** `--store postgres://...`: read the run from PostgreSQL instead of DIR. */
  pgUrl?: string;
}

export interface CompareConfig {
  request: CompareRequest;
  format: CompareFormat;
  dataDir: string;
  out?: string;
  pgUrl?: string;
}

export interface ExportConfig {
  runId: string;
  dataDir: string;
  /** The run file to write: a new file (default ./<runId>.swrun.gz). */
  out: string;
  pgUrl?: string;
}

export interface ImportConfig {
  files: string[];
  dataDir: string;
  /** Keep the whole lines of a file cut short. */
  partial: boolean;
  /** `--store postgres://...`: import into PostgreSQL instead of DIR. */
  pgUrl?: string;
}

const DATA_DIR = './stagewatch-data';

/** Empty means unset, as a shell's `VAR= cmd` does. */
const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

/** Every environment variable the collector reads. */
const CollectorEnvSchema = z.object({
  STAGEWATCH_TOKEN: optional,
  STAGEWATCH_INFLUX_URL: optional,
  STAGEWATCH_INFLUX_TOKEN: optional,
  STAGEWATCH_INFLUX_ORG: optional,
  STAGEWATCH_INFLUX_BUCKET: optional,
  STAGEWATCH_PG_URL: optional,
});

/**
 * `--store URL`: a PostgreSQL connection URL (postgres:// or postgresql://), or undefined for
 * the SQLite file in --data. `data`: whether --data was given too (the two name different stores).
 */
export function pgStore(store: string | undefined, dataGiven: boolean): string | undefined {
  if (store === undefined || store === '') return undefined;
  let url: URL;
  try {
    url = new URL(store);
  } catch {
    throw new UsageError(`--store ${JSON.stringify(redacted(store))} is not a URL: give postgres://USER@HOST[:PORT]/DB`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new UsageError(`--store ${JSON.stringify(redacted(store))}: only postgres:// (or postgresql://) URLs are stores; the SQLite store is --data DIR`);
  if (dataGiven) throw new UsageError('give --data DIR (the SQLite store) or --store postgres://... (PostgreSQL), not both');
  return store;
}

/** A URL with its password hidden: an error message must not print it. */
function redacted(s: string): string {
  return s.replace(/(:\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/** `serve`: flags, then the config file, then STAGEWATCH_TOKEN and STAGEWATCH_INFLUX_*, then defaults. */
export function serveConfig(argv: string[], environment: Environment): ServeConfig {
  const { values } = parseFlags(argv, SERVE_FLAGS);
  const env = CollectorEnvSchema.parse(environment);
  const schema = z.object({
    ...logFlagsShape,
    config: z.string().optional(),
    host: z.string().default('127.0.0.1'),
    port: intFlagSchema('port', 0, 65535).default(7711),
    data: z.string().default(DATA_DIR),
    token: z.string().optional(),
    'tokens-file': z.string().optional(),
    'tls-cert': z.string().optional(),
    'tls-key': z.string().optional(),
    'heartbeat-ms': intFlagSchema('heartbeat-ms', 100, 600_000).default(10_000),
    'hello-timeout-ms': intFlagSchema('hello-timeout-ms', 100, 600_000).default(10_000),
    'max-payload-mib': intFlagSchema('max-payload-mib', 1, 1024).default(16),
    'influx-url': z.string().default(env.STAGEWATCH_INFLUX_URL ?? '').transform((v) => v || undefined),
    'influx-token': z.string().default(env.STAGEWATCH_INFLUX_TOKEN ?? '').transform((v) => v || undefined),
    'influx-org': z.string().default(env.STAGEWATCH_INFLUX_ORG ?? '').transform((v) => v || undefined),
    'influx-bucket': z.string().default(env.STAGEWATCH_INFLUX_BUCKET ?? '').transform((v) => v || undefined),
    // Raw is kept for good unless asked: roll-ups change what a report concludes (mixed_three on the
    // H100 capture goes from mixed to compute at 1 s), and users compare runs weeks apart.
    'retain-raw': durationFlagSchema('retain-raw', 60_000).default(0),
    'retain-1s': durationFlagSchema('retain-1s', 60_000).optional(),
    'retain-10s': durationFlagSchema('retain-10s', 60_000).default(0),
    store: z.string().optional(),
  });
  const v = parseFlagValues(schema, values);
  const retention = retentionPolicy(v['retain-raw'], v['retain-1s'], v['retain-10s']);
  const influx = influxOptions(v['influx-url'], v['influx-token'], v['influx-org'], v['influx-bucket']);
  const pgUrl = pgStore(v.store ?? env.STAGEWATCH_PG_URL, values.data !== undefined && v.store !== undefined);
  if (pgUrl !== undefined && influx) throw new UsageError('--influx-url does not run with --store postgres://...: the InfluxDB sink reads the SQLite store (docs/STORE.md)');
  if (v.token !== undefined && v['tokens-file'] !== undefined) throw new UsageError('give --token or --tokens-file, not both');
  const token = v.token ?? (v['tokens-file'] === undefined ? env.STAGEWATCH_TOKEN : undefined);
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new UsageError(`--token must be at least ${MIN_TOKEN_LENGTH} characters`);
  const tokens = token !== undefined ? { token } : v['tokens-file'] !== undefined ? { file: v['tokens-file'] } : null;
  if (tokens === null && !isLoopback(v.host)) throw new UsageError(`--host ${v.host} is not a loopback address: --token or --tokens-file is required`);
  const [cert, key] = [v['tls-cert'], v['tls-key']];
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  return {
    host: v.host,
    port: v.port,
    dataDir: v.data,
    tokens,
    ...(cert !== undefined && key !== undefined ? { tls: { certFile: cert, keyFile: key } } : {}),
    heartbeatMs: v['heartbeat-ms'],
    helloTimeoutMs: v['hello-timeout-ms'],
    maxPayloadBytes: v['max-payload-mib'] * 1024 * 1024,
    influx,
    ...(pgUrl !== undefined ? { pgUrl } : {}),
    logging: { format: v['log-format'], level: v['log-level'] },
    retention,
  };
}

/**
 * Each resolution is kept at least as long as the finer one before it. --retain-1s defaults to
 * 30 days, or --retain-raw's time where that is longer. 0 keeps a resolution for good (nothing
 * then reaches the coarser ones).
 */
function retentionPolicy(rawMs: number, given1s: number | undefined, tenSecondMs: number): RetentionPolicy {
  const oneSecondMs = given1s ?? (rawMs === 0 ? 0 : Math.max(30 * 86_400_000, rawMs));
  const longer = (flag: string, ms: number, finerFlag: string, finerMs: number): void => {
    if (ms !== 0 && finerMs !== 0 && ms < finerMs) {
      throw new UsageError(`--${flag} ${durationText(ms)} is shorter than --${finerFlag} ${durationText(finerMs)}: a coarser resolution is kept at least as long as a finer one (0 keeps it for good)`);
    }
  };
  longer('retain-1s', oneSecondMs, 'retain-raw', rawMs);
  longer('retain-10s', tenSecondMs, 'retain-1s', oneSecondMs);
  return { rawMs, oneSecondMs, tenSecondMs };
}

/** `--influx-*` (each falling back to STAGEWATCH_INFLUX_URL, _TOKEN, _ORG, _BUCKET): all or none. */
function influxOptions(url?: string, token?: string, org?: string, bucket?: string): InfluxOptions | null {
  if (url === undefined) {
    if (token ?? org ?? bucket) throw new UsageError('--influx-url is required with the other --influx-* flags');
    return null;
  }
  try {
    const u = new URL(url);
    if (!['http:', 'https:'].includes(u.protocol)) throw new Error('not http(s)');
  } catch {
    throw new UsageError(`--influx-url ${JSON.stringify(url)} is not an http(s) URL`);
  }
  if (!org) throw new UsageError('--influx-org is required with --influx-url');
  if (!bucket) throw new UsageError('--influx-bucket is required with --influx-url');
  return { url, token: token ?? '', org, bucket };
}

/** `report <runId> [--vs <runId>] [--format md|json|html] [--data DIR] [--thresholds FILE] [--out FILE]` */
export function reportConfig(argv: string[]): ReportConfig {
  const { values, positionals } = parseFlags(argv, REPORT_FLAGS, true);
  if (positionals.length !== 1) throw new UsageError(`give exactly one run id (got ${positionals.length})`);
  const v = parseFlagValues(
    z.object({
      vs: z.string().optional(),
      format: choiceFlagSchema('format', REPORT_FORMATS).default('md'),
      data: z.string().default(DATA_DIR),
      store: z.string().optional(),
      thresholds: z.string().optional(),
      out: z.string().optional(),
    }),
    values,
  );
  const pgUrl = pgStore(v.store, values.data !== undefined);
  return {
    ...(pgUrl !== undefined ? { pgUrl } : {}),
    runId: positionals[0] as string,
    ...(v.vs !== undefined ? { vs: v.vs } : {}),
    format: v.format,
    dataDir: v.data,
    ...(v.thresholds !== undefined ? { thresholdsFile: v.thresholds } : {}),
    ...(v.out !== undefined ? { out: v.out } : {}),
  };
}

/** `compare --baseline RUN RUN... [--metrics a,b] [--format md|json|html|csv] [--by config|run] [--confidence 0.95] [--data DIR] [--out FILE]` */
export function compareConfig(argv: string[]): CompareConfig {
  const { values, positionals } = parseFlags(argv, COMPARE_FLAGS, true);
  const v = parseFlagValues(
    z.object({ format: choiceFlagSchema('format', COMPARE_FORMATS).default('md'), data: z.string().default(DATA_DIR), store: z.string().optional(), out: z.string().optional() }),
    { format: values.format, data: values.data, store: values.store, out: values.out },
  );
  const pgUrl = pgStore(v.store, values.data !== undefined);
  const request = compareRequest({ ...values, runs: positionals });
  if (positionals.filter((r) => r !== request.baseline).length === 0) throw new UsageError('give the runs to compare with the baseline after the flags');
  return { request, format: v.format, dataDir: v.data, ...(v.out !== undefined ? { out: v.out } : {}), ...(pgUrl !== undefined ? { pgUrl } : {}) };
}

/** `export <runId> [--data DIR] [--out FILE]`: FILE must not exist (a run file is never overwritten). */
export function exportConfig(argv: string[]): ExportConfig {
  const { values, positionals } = parseFlags(argv, EXPORT_FLAGS, true);
  if (positionals.length !== 1) throw new UsageError(`give exactly one run id (got ${positionals.length})`);
  const runId = positionals[0] as string;
  const v = parseFlagValues(z.object({ data: z.string().default(DATA_DIR), store: z.string().optional(), out: z.string().optional() }), values);
  const pgUrl = pgStore(v.store, values.data !== undefined);
  const out = v.out ?? `${runId.replace(/[^A-Za-z0-9._-]/g, '_')}${RUN_FILE_SUFFIX}`;
  if (existsSync(out)) throw new UsageError(`--out ${out}: exists already; give a new file name`);
  return { runId, dataDir: v.data, out, ...(pgUrl !== undefined ? { pgUrl } : {}) };
}

/** `import FILE... [--data DIR | --store postgres://...] [--partial]` */
export function importConfig(argv: string[]): ImportConfig {
  const { values, positionals } = parseFlags(argv, IMPORT_FLAGS, true);
  if (positionals.length === 0) throw new UsageError('give the run file(s) to import, e.g. import run.swrun.gz');
  const v = parseFlagValues(z.object({ data: z.string().default(DATA_DIR), store: z.string().optional(), partial: z.boolean().optional() }), values);
  const pgUrl = pgStore(v.store, values.data !== undefined);
  return { files: positionals, dataDir: v.data, partial: v.partial === true, ...(pgUrl !== undefined ? { pgUrl } : {}) };
}

/** Compare's flags as the CLI and GET /api/compare both take them, checked the same way. */
export function compareRequest(v: { baseline?: unknown; runs: readonly string[]; metrics?: unknown; by?: unknown; confidence?: unknown }): CompareRequest {
  if (typeof v.baseline !== 'string' || v.baseline === '') throw new UsageError('--baseline RUN is required');
  const by = v.by ?? 'config';
  if (by !== 'config' && by !== 'run') throw new UsageError(`--by must be config or run (got ${JSON.stringify(by)})`);
  const metrics = typeof v.metrics === 'string' ? v.metrics.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
  if (metrics && metrics.length === 0) throw new UsageError('--metrics names no metric');
  const confidence = numberFlag({ confidence: v.confidence }, 'confidence', 0.5, 0.999, 0.95);
  return { baseline: v.baseline, runs: v.runs, ...(metrics ? { metrics } : {}), by, confidence };
}
