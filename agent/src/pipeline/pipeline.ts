import { createWriteStream, type WriteStream } from 'node:fs';
import { Once, PROTOCOL_VERSION, VERSION, type GpuInfo, type Hello, type HostFingerprint, type Mark, type RunLabels, type Sample, type SamplerHealth, type WorkloadRuntime } from '@stagewatch/shared';
import { CollectorClient } from '../transport/client.js';
import type { BatchFrames } from '../transport/frames.js';
import type { BatchExporter } from '../transport/exporter.js';
import { RunFileExporter, RunFileWriter, type RunFileSummary } from '../transport/run-file.js';
import { Spool } from '../transport/spool.js';
import { Batcher, type RunEnd } from './batcher.js';

export const AGENT_VERSION = VERSION;

export interface PipelineOptions {
  /** Collectors in the order tried; one is sent to at a time. None: `out` only. */
  collectors: readonly string[];
  /** `--out FILE`: the batches also (or, with no collector, only) go to a portable run file, a new one. */
  out?: string;
  token?: string;
  runId: string | null;
  host: string;
  batchMs: number;
  /** How batches go on the wire (ClientOptions.frames); JSON where not given. */
  frames?: BatchFrames;
  spoolDir: string;
  spoolMaxBytes: number;
  heartbeatMs?: number;
  backoffMaxMs?: number;
  /** A file every sample is also appended to, as JSON lines. */
  tee?: string;
  /** `run --label k=v`: sent in the hello, stored on the run. */
  labels?: RunLabels;
  log: (msg: string) => void;
  /** The collector refused this agent for good (see CollectorClient's onFatal). */
  onFatal?: (message: string) => void;
}

/** What the hello says besides who the agent is: its GPUs, what it can sample, the host's fingerprint. */
export interface HelloParts {
  gpus: GpuInfo[];
  capabilities: Hello['capabilities'];
  fingerprint?: HostFingerprint;
}

/** What the pipeline needs of the samplers feeding it. */
export interface SampleSource {
  watchPid(pid: number): void;
  toggleDcgmPause(): string | null;
  stop(): Promise<void>;
}

export interface StopSummary {
  samples: number;
  batches: number;
  unsent: number;
  lost: { batches: number; samples: number };
  /** What `--out` wrote. */
  out?: RunFileSummary;
}

/**
 * The agent's one pipeline: samplers → batcher → spool → transport. Callers hand it samples,
 * marks, the workload's pid and the run's end, and shut it down; the spool, batcher and
 * transport behind it are its own.
 */
export class AgentPipeline {
  private readonly spool: Spool;
  private readonly batcher: Batcher;
  private readonly tee: WriteStream | null;
  private readonly transport: CollectorClient | null;
  private readonly file: RunFileExporter | null;
  /** The exporters in the order they drain and shut down: the collector's first, then the file (it keeps what the collector was never sent). */
  private readonly exporters: BatchExporter[];
  private source: SampleSource | null = null;
  /** Known once the hello's parts are (the host's fingerprint takes a while to read). */
  private hello: Hello | null = null;
  private connecting: Promise<void> | null = null;
  private readonly stopping = new Once((drainMs: number) => this.stop(drainMs));

  private constructor(private readonly opts: PipelineOptions) {
    this.spool = Spool.open(opts.spoolDir, opts.spoolMaxBytes, opts.log, opts.host.replace(/[^A-Za-z0-9._-]/g, '_'));
    if (this.spool.size.batches > 0) opts.log(`${this.spool.size.batches} batches left in ${opts.spoolDir} from before: sending them first`);
    if (opts.collectors.length === 0 && opts.out === undefined) throw new Error('AgentPipeline: give a collector or an --out file');
    // Made now, so the file exists and the options are checked before anything starts; both start once the hello is known.
    const writer = opts.out !== undefined ? RunFileWriter.create(opts.out, opts.runId, `stagewatch-agent ${AGENT_VERSION}`, opts.log) : null;
    const file = writer ? new RunFileExporter(this.spool, writer, opts.collectors.length === 0) : null;
    this.file = file;
    this.transport = opts.collectors.length === 0 ? null : new CollectorClient({
      url: opts.collectors,
      ...(opts.token ? { token: opts.token } : {}),
      hello: () => this.hello as Hello,
      spool: this.spool,
      log: opts.log,
      ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
      ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.frames ? { frames: opts.frames } : {}),
      ...(opts.backoffMaxMs ? { backoff: { initialMs: 250, maxMs: opts.backoffMaxMs } } : {}),
      ...(file ? { onSend: (seq: number, frame: string) => file.sent(seq, frame) } : {}),
    });
    this.exporters = [this.transport, this.file].filter((e): e is CollectorClient | RunFileExporter => e !== null);
    // Batches spooled before the hello is known wait in the spool; they go out first once it is.
    const exportAll = (seq: number): void => {
      if (this.hello) for (const e of this.exporters) e.export(seq);
    };
    this.batcher = new Batcher(this.spool, { export: exportAll }, { runId: opts.runId, batchMs: opts.batchMs, host: opts.host });
    this.tee = opts.tee ? createWriteStream(opts.tee, { flags: 'a' }) : null;
  }

  static open(opts: PipelineOptions): AgentPipeline {
    return new AgentPipeline(opts);
  }

  get agentId(): string {
    return this.spool.agentId;
  }

  sample(s: Sample): void {
    this.tee?.write(`${JSON.stringify(s)}\n`);
    this.batcher.add(s);
  }

  health(h: SamplerHealth): void {
    this.batcher.addHealth(h);
  }

  marks(marks: readonly Mark[]): void {
    this.batcher.addMarks(marks);
  }

  /** What the workload's Python said about itself. */
  workload(w: WorkloadRuntime): void {
    this.batcher.setWorkload(w);
  }

  /** The run's workload exited: goes out with the last batch. */
  endRun(end: RunEnd): void {
    this.batcher.endRun(end);
  }

  /** Sends what is waiting now rather than at the next batch interval. */
  flush(): void {
    this.batcher.flush();
  }

  /** The samplers feeding this pipeline: stopped first on shutdown. */
  attach(source: SampleSource): void {
    this.source = source;
  }

  /** Adds the workload's process tree to what is sampled. */
  watchPid(pid: number): void {
    this.source?.watchPid(pid);
  }

  /** SIGUSR2: pauses or resumes DCGM profiling; says what it did, or null without DCGM. */
  toggleDcgmPause(): string | null {
    return this.source?.toggleDcgmPause() ?? null;
  }

  /** Connects once the hello's parts are known; what was spooled meanwhile goes out first. */
  connect(parts: HelloParts | Promise<HelloParts>): void {
    this.connecting ??= Promise.resolve(parts).then((p) => this.startTransport(p));
    // A failure here (none is expected: the fingerprint's is caught) surfaces in shutdown().
    this.connecting.catch(() => {});
  }

  /**
   * Stops sampling, spools what is left, waits up to drainMs for acks and closes the link; what
   * is not acknowledged stays spooled for the next start. Once: later calls get the same summary.
   */
  shutdown(drainMs: number): Promise<StopSummary> {
    return this.stopping.call(drainMs);
  }

  private startTransport(parts: HelloParts): void {
    this.hello = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agentId: this.spool.agentId,
      host: this.opts.host,
      runId: this.opts.runId,
      gpus: parts.gpus,
      capabilities: parts.capabilities,
      agentVersion: AGENT_VERSION,
      ...(this.opts.labels && Object.keys(this.opts.labels).length > 0 ? { labels: this.opts.labels } : {}),
      ...(parts.fingerprint ? { fingerprint: parts.fingerprint } : {}),
    };
    // The file's hello goes first: a batch the collector is sent is written after it.
    this.file?.start(this.hello);
    this.transport?.start();
  }

  private async stop(drainMs: number): Promise<StopSummary> {
    await this.source?.stop();
    this.batcher.shutdown();
    await this.connecting;
    let drained = this.hello !== null || this.spool.size.batches === 0;
    for (const e of this.exporters) {
      if (this.hello) drained = (await e.forceFlush(drainMs)) && drained;
      await e.shutdown();
    }
    if (this.tee) await new Promise((r) => this.tee?.end(r));
    const out = await this.file?.summary();
    const unsent = this.spool.size.batches;
    if (!drained) this.opts.log(`${unsent} batches not acknowledged; they stay in ${this.opts.spoolDir} and go out at the next start`);
    return { samples: this.batcher.produced, batches: this.batcher.batches, unsent, lost: this.spool.loss, ...(out ? { out } : {}) };
  }
}
