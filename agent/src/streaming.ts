import { createWriteStream } from 'node:fs';
import os from 'node:os';
import { PROTOCOL_VERSION, type Hello } from '@stagewatch/shared';
import { startSampling, type Sampling } from './sampling.js';
import { CollectorClient } from './transport/client.js';
import { Spool } from './transport/spool.js';
import { Streamer } from './transport/streamer.js';

export const AGENT_VERSION = '0.1.0';

export interface StreamingOptions {
  collector: string;
  token?: string;
  runId: string | null;
  host?: string;
  intervalMs: number;
  batchMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  pid?: number;
  heartbeatMs?: number;
  backoffMaxMs?: number;
  tee?: string;
  log: (msg: string) => void;
}

export interface Streaming {
  sampling: Sampling;
  client: CollectorClient;
  streamer: Streamer;
  spool: Spool;
  /** Stops sampling, sends what is left (waiting up to drainMs), and reports what was sent. */
  stop(drainMs: number): Promise<{ samples: number; batches: number; unsent: number; lost: { batches: number; samples: number } }>;
}

/** Sampling wired to the collector: samples → batches → spool → WebSocket. */
export async function startStreaming(opts: StreamingOptions): Promise<Streaming> {
  const host = opts.host ?? os.hostname();
  const spool = Spool.open(opts.spoolDir, opts.spoolMaxBytes, opts.log, host.replace(/[^A-Za-z0-9._-]/g, '_'));
  if (spool.size.batches > 0) opts.log(`${spool.size.batches} batches left in ${opts.spoolDir} from before: sending them first`);
  let hello: Hello | null = null;
  const client = new CollectorClient({
    url: opts.collector,
    ...(opts.token ? { token: opts.token } : {}),
    hello: () => hello as Hello,
    spool,
    log: opts.log,
    ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.backoffMaxMs ? { backoff: { initialMs: 250, maxMs: opts.backoffMaxMs } } : {}),
  });
  const teeStream = opts.tee ? createWriteStream(opts.tee, { flags: 'a' }) : null;
  const streamer = new Streamer(spool, client, opts.batchMs, 5000, teeStream ? (s) => teeStream.write(`${JSON.stringify(s)}\n`) : undefined);
  const sampling = await startSampling({
    intervalMs: opts.intervalMs,
    host,
    ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
    log: opts.log,
    onSample: (s) => streamer.add(s),
    onHealth: (h) => streamer.addHealth(h),
  });
  hello = {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    agentId: spool.agentId,
    host,
    runId: opts.runId,
    gpus: sampling.probe.gpus.map((g) => ({ index: g.index, uuid: g.uuid, name: g.name, memTotalMib: g.memTotalMib })),
    capabilities: { gpm: sampling.probe.gpm, fields: sampling.probe.fields.supported },
    agentVersion: AGENT_VERSION,
  };
  client.start();
  return {
    sampling,
    client,
    streamer,
    spool,
    async stop(drainMs) {
      await sampling.stop();
      streamer.stop();
      const drained = await client.drain(drainMs);
      await client.stop();
      if (teeStream) await new Promise((r) => teeStream.end(r));
      const unsent = spool.size.batches;
      if (!drained) opts.log(`${unsent} batches not acknowledged; they stay in ${opts.spoolDir} and go out at the next start`);
      return { samples: streamer.produced, batches: streamer.batches, unsent, lost: spool.loss };
    },
  };
}
