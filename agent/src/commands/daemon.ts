import { makeLogger } from '@stagewatch/shared';
import { daemonConfig } from '../config/config.js';
import type { Environment } from '../config/environment.js';
import { startStreaming } from '../streaming.js';
import { destination } from '../transport/run-file.js';
import { onDcgmPauseSignal } from './signals.js';

/** `daemon --collector URL | --out FILE`: stream this host continuously until SIGTERM/SIGINT. */
export async function daemonCommand(argv: string[], env: Environment): Promise<number> {
  const config = daemonConfig(argv, env);
  const log = makeLogger('stagewatch-agent', { ...config.logging, timestamps: true });
  let fatal: string | null = null;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const pipeline = await startStreaming({
    ...config,
    log,
    // A collector that refuses us for good (wrong token, wrong address) ends the daemon with exit 2.
    onFatal: (msg) => {
      fatal = msg;
      wake();
    },
  });
  log(`streaming ${pipeline.agentId} to ${destination(config.collectors, config.out)} (${config.runId ? `run ${config.runId}` : 'host timeline'}), spool ${config.spoolDir}`);
  const stopPauseToggle = onDcgmPauseSignal(pipeline, log);
  await stopped;
  stopPauseToggle();
  const summary = await pipeline.shutdown(fatal ? 0 : config.drainMs);
  log(`summary ${JSON.stringify(summary)}`);
  return fatal ? 2 : 0;
}
