import { COMMON_FLAGS, intFlag, loggerFromFlags, parseFlags, UsageError } from '@stagewatch/shared';
import { isLoopback, readTokensFile } from '../auth.js';
import { startCollector } from '../server.js';
import type { InfluxOptions } from '../sinks/influx.js';

export const SERVE_FLAGS = {
  ...COMMON_FLAGS,
  host: { type: 'string' },
  port: { type: 'string' },
  data: { type: 'string' },
  token: { type: 'string' },
  'tokens-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'hello-timeout-ms': { type: 'string' },
  'max-payload-mib': { type: 'string' },
  'influx-url': { type: 'string' },
  'influx-token': { type: 'string' },
  'influx-org': { type: 'string' },
  'influx-bucket': { type: 'string' },
} as const;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, SERVE_FLAGS);
  const log = loggerFromFlags('stagewatch-collector', values);
  const influx = influxOptions(values);
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const port = intFlag(values, 'port', 0, 65535, 7711);
  const dataDir = (values.data as string | undefined) ?? './stagewatch-data';
  if (values.token !== undefined && values['tokens-file'] !== undefined) throw new UsageError('give --token or --tokens-file, not both');
  const envToken = process.env.STAGEWATCH_TOKEN;
  const tokens =
    values.token !== undefined
      ? [values.token as string]
      : values['tokens-file'] !== undefined
        ? readTokensFile(values['tokens-file'] as string)
        : envToken
          ? [envToken]
          : [];
  if (tokens.some((t) => t.length < 8)) throw new UsageError('--token must be at least 8 characters');
  if (tokens.length === 0 && !isLoopback(host)) {
    throw new UsageError(`--host ${host} is not a loopback address: --token or --tokens-file is required`);
  }
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const collector = await startCollector({
    host,
    port,
    dataDir,
    tokens,
    ...(cert && key ? { tls: { certFile: cert, keyFile: key } } : {}),
    heartbeatMs: intFlag(values, 'heartbeat-ms', 100, 600_000, 10_000),
    helloTimeoutMs: intFlag(values, 'hello-timeout-ms', 100, 600_000, 10_000),
    maxPayloadBytes: intFlag(values, 'max-payload-mib', 1, 1024, 16) * 1024 * 1024,
    ...(influx ? { influx } : {}),
    log,
  });
  if (influx) log(`writing to InfluxDB ${influx.url}, org ${influx.org}, bucket ${influx.bucket}`);
  log(`listening on ${collector.url} (agents: ${collector.url.replace(/^http/, 'ws')}/agent), data in ${dataDir}${tokens.length ? ', token required' : ''}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log('shutting down');
  await collector.close();
  return 0;
}

/** `--influx-*` flags, each falling back to STAGEWATCH_INFLUX_URL, _TOKEN, _ORG, _BUCKET. */
function influxOptions(values: Record<string, string | boolean | undefined>): InfluxOptions | null {
  const get = (k: string): string | undefined => (values[`influx-${k}`] as string | undefined) ?? process.env[`STAGEWATCH_INFLUX_${k.toUpperCase()}`];
  const url = get('url');
  const [token, org, bucket] = [get('token'), get('org'), get('bucket')];
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
