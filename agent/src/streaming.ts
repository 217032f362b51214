import { createWriteStream, type WriteStream } from 'node:fs';
import os from 'node:os';
import { PROTOCOL_VERSION, VERSION, type GpuInfo, type Hello, type HostFingerprint, type RunLabels } from '@stagewatch/shared';
import { readFingerprint } from './fingerprint/index.js';
import { resolveNvidiaSmi } from './probe.js';
import { startSampling, type GpuBackend, type Sampling } from './sampling.js';
import { CollectorClient } from './transport/client.js';
import { RunFileSender, RunFileWriter, type RunFileSummary } from './transport/run-file.js';
import { Spool } from './transport/spool.js';
import { Streamer } from './transport/streamer.js';

export const AGENT_VERSION = VERSION;

export interface LinkOptions {
  /** null: none (`--out` alone): batches go to the run file only. */
  collector: string | null;
  /** `--out FILE`: also (or, without a collector, only) write the batches to a portable run file. */
  out?: string;
  token?: string;
  runId: string | null;
  host?: string;
  batchMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  heartbeatMs?: number;
  backoffMaxMs?: number;
  tee?: string;
  /** `run --label k=v`: sent in the hello, stored on the run. */
  labels?: RunLabels;
  log: (msg: string) => void;
  /** The collector refused this agent for good (see CollectorClient.onFatal). */
  onFatal?: (message: string) => void;
}

export interface StopSummary {
  samples: number;
  batches: number;
  unsent: number;
  lost: { batches: number; samples: number };
  /** What `--out` wrote. */
  out?: RunFileSummary;
}

/** Spool, client and batcher: the path from samples and marks to the collector. */
export class Link {
  readonly host: string;
  readonly spool: Spool;
  readonly client: CollectorClient | null;
  readonly out: RunFileWriter | null;
  /** Offline it sends; beside a collector it copies what was never sent into the file at the end. */
  private readonly toFile: RunFileSender | null;
  readonly streamer: Streamer;
  private hello: Hello | null = null;
  private readonly tee: WriteStream | null;

  constructor(private readonly opts: LinkOptions) {
    this.host = opts.host ?? os.hostname();
    this.spool = Spool.open(opts.spoolDir, opts.spoolMaxBytes, opts.log, this.host.replace(/[^A-Za-z0-9._-]/g, '_'));
    if (this.spool.size.batches > 0) opts.log(`${this.spool.size.batches} batches left in ${opts.spoolDir} from before: sending them first`);
    this.out = opts.out ? RunFileWriter.create(opts.out, opts.runId, `stagewatch-agent ${AGENT_VERSION}`, opts.log) : null;
    this.toFile = this.out ? new RunFileSender(this.spool, this.out) : null;
    const out = this.out;
    this.client = opts.collector === null ? null : new CollectorClient({
      url: opts.collector,
      ...(opts.token ? { token: opts.token } : {}),
      hello: () => this.hello as Hello,
      spool: this.spool,
      log: opts.log,
      ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
      ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.backoffMaxMs ? { backoff: { initialMs: 250, maxMs: opts.backoffMaxMs } } : {}),
      ...(out ? { onSend: (seq: number, frame: string) => out.batch(seq, frame) } : {}),
    });
    const sender = this.client ?? this.toFile;
    if (!sender) throw new Error('a link needs a collector or an --out file');
    const tee = opts.tee ? createWriteStream(opts.tee, { flags: 'a' }) : null;
    this.tee = tee;
    this.streamer = new Streamer(this.spool, sender, opts.runId, opts.batchMs, 5000, tee ? (s) => tee.write(`${JSON.stringify(s)}\n`) : undefined, this.host);
  }

  /** Connects, once what the hello says (GPUs, capabilities, the host's fingerprint) is known. */
  connect(gpus: GpuInfo[], capabilities: Hello['capabilities'], fingerprint?: HostFingerprint): void {
    this.hello = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agentId: this.spool.agentId,
      host: this.host,
      runId: this.opts.runId,
      gpus,
      capabilities,
      agentVersion: AGENT_VERSION,
      ...(this.opts.labels && Object.keys(this.opts.labels).length > 0 ? { labels: this.opts.labels } : {}),
      ...(fingerprint ? { fingerprint } : {}),
    };
    this.out?.hello(this.hello);
    (this.client ?? this.toFile)?.start();
  }

  /** Sends what is left, waiting up to drainMs for acks; what is not acked stays spooled. */
  async close(drainMs: number): Promise<StopSummary> {
    this.streamer.stop();
    const drained = this.client ? await this.client.drain(drainMs) : true;
    await this.client?.stop();
    if (this.tee) await new Promise((r) => this.tee?.end(r));
    // Offline this sends the last batch; beside a collector, what it never got (it stays spooled too).
    if (this.hello) this.toFile?.copy(this.client === null);
    const out = await this.out?.close();
    const unsent = this.spool.size.batches;
    if (!drained) this.opts.log(`${unsent} batches not acknowledged; they stay in ${this.opts.spoolDir} and go out at the next start`);
    return { samples: this.streamer.produced, batches: this.streamer.batches, unsent, lost: this.spool.loss, ...(out ? { out } : {}) };
  }
}

export interface Streaming {
  sampling: Sampling;
  link: Link;
  stop(drainMs: number): Promise<StopSummary>;
}

/** Sampling wired to the collector: samples → batches → spool → WebSocket. */
export async function startStreaming(
  opts: LinkOptions & { intervalMs: number; pid?: number; gpuBackend?: GpuBackend; fingerprint?: HostFingerprint; dcgm?: boolean },
): Promise<Streaming> {
  const link = new Link(opts);
  const sampling = await startSampling({
    intervalMs: opts.intervalMs,
    ...(opts.gpuBackend ? { gpuBackend: opts.gpuBackend } : {}),
    ...(opts.dcgm === false ? { dcgm: false } : {}),
    host: link.host,
    ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
    log: opts.log,
    onSample: (s) => link.streamer.add(s),
    onHealth: (h) => link.streamer.addHealth(h),
  });
  const gpus = sampling.probe.gpus.map((g) => ({ index: g.index, uuid: g.uuid, name: g.name, memTotalMib: g.memTotalMib }));
  // The fingerprint takes a few hundred ms of subprocesses: samples spool meanwhile, and the hello
  // that carries it goes out when it is read, so the workload does not wait for it.
  const connected = (opts.fingerprint ? Promise.resolve(opts.fingerprint) : resolveNvidiaSmi().then((smiPath) => readFingerprint({ smiPath, gpus, driverVersion: sampling.probe.nvml?.driverVersion ?? null })))
    .catch((e: unknown) => {
      opts.log(`host fingerprint not read: ${(e as Error).message}`);
      return undefined;
    })
    .then((fp) =>
      link.connect(gpus, { gpm: sampling.probe.gpm, fields: sampling.probe.fields.supported, ...(sampling.probe.smActivity ? { smActivity: sampling.probe.smActivity } : {}) }, fp),
    );
  return {
    sampling,
    link,
    async stop(drainMs) {
      await sampling.stop();
      await connected;
      return link.close(drainMs);
    },
  };
}
