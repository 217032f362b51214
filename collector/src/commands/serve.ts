import { makeLogger, type Environment } from '@stagewatch/shared';
import { readTokensFile } from '../auth.js';
import { serveConfig } from '../config/config.js';
import { durationText } from '../config/duration.js';
import { startCollector } from '../server.js';

export async function serveCommand(argv: string[], env: Environment): Promise<number> {
  const config = serveConfig(argv, env);
  const log = makeLogger('stagewatch-collector', { ...config.logging, timestamps: true });
  const tokens = config.tokens === null ? [] : 'token' in config.tokens ? [config.tokens.token] : readTokensFile(config.tokens.file);
  const { influx, dataDir } = config;
  const collector = await startCollector({
    host: config.host,
    port: config.port,
    dataDir,
    tokens,
    ...(config.tls ? { tls: config.tls } : {}),
    heartbeatMs: config.heartbeatMs,
    helloTimeoutMs: config.helloTimeoutMs,
    maxPayloadBytes: config.maxPayloadBytes,
    ...(influx ? { influx } : {}),
    retention: config.retention,
    ...(config.pgUrl !== undefined ? { pgUrl: config.pgUrl } : {}),
    log,
  });
  const { rawMs, oneSecondMs, tenSecondMs } = config.retention;
  log(`retention: raw ${durationText(rawMs)}, 1 s roll-ups ${durationText(oneSecondMs)}, 10 s roll-ups ${durationText(tenSecondMs)}`);
  if (influx) log(`writing to InfluxDB ${influx.url}, org ${influx.org}, bucket ${influx.bucket}`);
  log(`listening on ${collector.url} (agents: ${collector.url.replace(/^http/, 'ws')}/agent), data in ${config.pgUrl !== undefined ? collector.engine.where : dataDir}${tokens.length ? ', token required' : ''}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log('shutting down');
  await collector.close();
  return 0;
}
