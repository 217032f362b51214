import type { WebSocket } from 'ws';
import {
  AGENT_MESSAGE_TYPES,
  AgentMessageSchema,
  BatchHeaderSchema,
  CloseCode,
  encodeSampleBlocks,
  errorMessage,
  isStagewatchError,
  MAX_FUTURE_MS,
  PROTOCOL_VERSION,
  readFrameBlocks,
  readFrameHeader,
  type AgentMessage,
  type Batch,
  type CollectorMessage,
  type SampleBlock,
} from '@stagewatch/shared';
import type { Ingestor } from './ingest.js';
import type { StoreEngine } from './store/engine.js';
import type { AgentRegistration } from './store/rows.js';
import type { CollectorTelemetry } from './telemetry.js';

export interface ConnectionContext {
  store: StoreEngine;
  ingest: Ingestor;
  telemetry: CollectorTelemetry;
  log: (msg: string) => void;
  /** Pause reading from a socket whose outgoing buffer is above this many bytes. */
  maxBufferedBytes: number;
  /** Pause reading while this many of the connection's batches wait for a commit. */
  maxPendingBatches: number;
  /** ... or while this many of its samples do: a few huge batches weigh as much as many small ones. */
  maxPendingSamples: number;
  /** Close a connection that has not said hello after this long. */
  helloTimeoutMs: number;
}

// A close reason is limited to 123 bytes by RFC 6455.
const reasonOf = (s: string): string => (Buffer.byteLength(s) <= 123 ? s : `${Buffer.from(s).subarray(0, 119).toString()}...`);

/** One agent's WebSocket: hello, then batches (acked once committed), pings and the run's end. */
export class AgentConnection {
  private reg: (AgentRegistration & { agentId: string; host: string }) | null = null;
  private closed = false;
  private pendingBatches = 0;
  private pendingSamples = 0;
  private paused = false;
  private ackQueue: number[] = [];
  private ackScheduled = false;
  private readonly helloTimer: NodeJS.Timeout;
  /** Messages that came while the hello was being stored, handled in order once it is. */
  private held: Array<[Buffer, boolean, number]> | null = null;

  /** `agentKey`: the one the agent presented at the upgrade (AGENT_KEY_HEADER), already validated. */
  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: ConnectionContext,
    private readonly peer: string,
    private readonly agentKey: string | null = null,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary, Date.now()));
    ws.on('close', () => {
      this.closed = true;
      clearTimeout(this.helloTimer);
    });
    // A socket that never says hello would otherwise be held (and pinged) for ever.
    this.helloTimer = setTimeout(() => {
      if (!this.reg) this.reject('no-hello', CloseCode.policy, `no hello within ${ctx.helloTimeoutMs} ms`);
    }, ctx.helloTimeoutMs).unref();
  }

  get agentId(): string | null {
    return this.reg?.agentId ?? null;
  }

  reject(reason: string, code: number, text: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.telemetry.rejects.inc({ reason });
    this.ctx.log(`closing ${this.peer}${this.reg ? ` (agent ${this.reg.agentId})` : ''}: ${code} ${text}`);
    this.ws.close(code, reasonOf(text));
  }

  private send(msg: CollectorMessage): void {
    if (this.closed) return;
    this.ws.send(JSON.stringify(msg));
    this.applyBackpressure();
  }

  /** Stop reading while the agent is not reading our acks or the store is behind. */
  private applyBackpressure(): void {
    const behind = (): boolean => this.pendingBatches >= this.ctx.maxPendingBatches || this.pendingSamples >= this.ctx.maxPendingSamples;
    const over = this.ws.bufferedAmount > this.ctx.maxBufferedBytes || behind();
    if (over && !this.paused) {
      this.paused = true;
      this.ws.pause();
      const check = setInterval(() => {
        if (this.closed) return clearInterval(check);
        if (this.ws.bufferedAmount <= this.ctx.maxBufferedBytes && !behind()) {
          clearInterval(check);
          this.paused = false;
          this.ws.resume();
        }
      }, 20);
    }
  }

  private onMessage(data: Buffer, isBinary: boolean, receivedAt: number): void {
    if (this.closed) return;
    if (this.held) {
      this.held.push([data, isBinary, receivedAt]);
      return;
    }
    if (isBinary) return this.onFrame(data, receivedAt);
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch (e) {
      return this.reject('invalid-json', CloseCode.invalidPayload, `invalid JSON: ${(e as Error).message}`);
    }
    const type = (raw as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !(AGENT_MESSAGE_TYPES as readonly string[]).includes(type)) {
      // Only a string is quoted back: stringifying whatever came (an array nested 100,000 deep)
      // could itself throw.
      const named = typeof type === 'string' ? JSON.stringify(type.slice(0, 64)) : type === undefined ? 'null' : `(${Array.isArray(type) ? 'an array' : typeof type})`;
      return this.reject('unknown-type', CloseCode.policy, `unknown message type ${named}`);
    }
    const parsed = AgentMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') || '(root)';
      return this.reject('schema', CloseCode.policy, `invalid ${type}: ${where}: ${issue?.message ?? 'does not match the schema'}`);
    }
    this.onValid(parsed.data, receivedAt);
  }

  /** A columnar batch frame (batch-frame.ts): its header validated by zod, its blocks by decoding them. */
  private onFrame(data: Buffer, receivedAt: number): void {
    let frame;
    try {
      frame = readFrameHeader(data);
    } catch (e) {
      return this.reject('binary', CloseCode.policy, `binary frame is not a columnar batch frame: ${errorMessage(e)}`);
    }
    const parsed = BatchHeaderSchema.safeParse(frame.header);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.reject('schema', CloseCode.policy, `invalid batch: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'does not match the schema'}`);
    }
    const { names, ...batch } = parsed.data;
    let blocks: SampleBlock[];
    try {
      blocks = readFrameBlocks(data, frame.blocksAt, names);
    } catch (e) {
      return this.reject('schema', CloseCode.policy, `invalid batch: ${errorMessage(e)}`);
    }
    this.onBatch(batch, blocks, receivedAt);
  }

  private onValid(msg: AgentMessage, receivedAt: number): void {
    if (msg.type === 'ping') {
      this.send({ type: 'pong', id: msg.id, t0: msg.t0, t1: receivedAt, t2: Date.now() });
      return;
    }
    if (msg.type === 'hello') {
      if (this.reg) return this.reject('protocol', CloseCode.policy, 'second hello on one connection');
      if (msg.protocol !== PROTOCOL_VERSION) {
        return this.reject('protocol', CloseCode.policy, `protocol ${msg.protocol} not supported (collector speaks ${PROTOCOL_VERSION})`);
      }
      // What comes before the welcome waits, and the socket is not read meanwhile (an agent sends
      // nothing before its welcome; another client must not pile up frames while the store answers).
      this.held = [];
      this.ws.pause();
      clearTimeout(this.helloTimer);
      this.ctx.store.registerAgent(msg, Date.now(), this.agentKey).then(
        (reg) => {
          this.reg = { ...reg, agentId: msg.agentId, host: msg.host };
          this.ctx.log(`agent ${msg.agentId} on ${msg.host} connected from ${this.peer}, run ${reg.runId}, stored through seq ${reg.storedThrough}`);
          this.send({ type: 'welcome', protocol: PROTOCOL_VERSION, runId: msg.runId, storedThrough: reg.storedThrough });
          const held = this.held ?? [];
          this.held = null;
          if (!this.paused) this.ws.resume();
          for (const [data, isBinary, at] of held) this.onMessage(data, isBinary, at);
        },
        (e: unknown) => {
          if (isStagewatchError(e, 'agent-key')) return this.reject('agent-key', CloseCode.policy, e.message);
          this.reject('store', CloseCode.internal, `store write failed: ${errorMessage(e)}`);
        },
      );
      return;
    }
    this.onBatch(msg, null, receivedAt);
  }

  /**
   * A batch of either frame kind: a columnar frame's blocks, or a JSON batch (blocks null) whose
   * samples are encoded into blocks here. To the store; acked once committed.
   */
  private onBatch(msg: Omit<Batch, 'samples'> & { samples?: Batch['samples'] }, frameBlocks: readonly SampleBlock[] | null, receivedAt: number): void {
    const reg = this.reg;
    if (!reg) return this.reject('protocol', CloseCode.policy, `${msg.type} before hello`);
    const ahead = farFuture(msg, frameBlocks ?? [], receivedAt);
    if (ahead) return this.reject('time', CloseCode.policy, ahead);
    const blocks = frameBlocks ?? encodeSampleBlocks(msg.samples ?? []);
    let samples = 0;
    for (const b of blocks) samples += b.n;
    if (msg.loss.samples > 0) this.ctx.telemetry.agentLoss.set({ agent: reg.agentId }, msg.loss.samples);
    if (msg.loss.corrupt > 0) this.ctx.telemetry.agentQuarantine.set({ agent: reg.agentId, reason: 'corrupt' }, msg.loss.corrupt);
    if (msg.loss.rejected > 0) this.ctx.telemetry.agentQuarantine.set({ agent: reg.agentId, reason: 'rejected' }, msg.loss.rejected);
    this.pendingBatches++;
    this.pendingSamples += samples;
    this.applyBackpressure();
    this.ctx.ingest.submit({ agentId: reg.agentId, hid: reg.hid, host: reg.host, batch: msg, blocks, samples }, (outcome) => {
      this.pendingBatches--;
      this.pendingSamples -= samples;
      if (!outcome.ok) return outcome.closing ? undefined : this.reject('store', CloseCode.internal, outcome.error);
      this.queueAck(msg.seq);
    });
  }

  /** Acks from one commit go out in one frame. */
  private queueAck(seq: number): void {
    this.ackQueue.push(seq);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    queueMicrotask(() => {
      this.ackScheduled = false;
      const seqs = this.ackQueue;
      this.ackQueue = [];
      this.send({ type: 'ack', seqs });
    });
  }
}

/**
 * Why a batch lies too far in the future, or null. Times are corrected by the batch's clock
 * estimate first, so only a clock that is wrong beyond what the offset explains is refused:
 * such data would stretch a run across years in every report. A JSON batch's samples are named
 * by index; a columnar frame's blocks by block (each block's last time is its latest).
 */
export function farFuture(b: Omit<Batch, 'samples'> & { samples?: ReadonlyArray<{ t: number }> }, blocks: readonly SampleBlock[], now: number): string | null {
  const shift = b.clock?.offsetMs ?? 0;
  const limit = now + MAX_FUTURE_MS;
  const lists: Array<[string, ReadonlyArray<{ t: number }>]> = [
    ['samples', b.samples ?? []],
    ['blocks', blocks.map((x) => ({ t: x.tLast }))],
    ['marks', b.marks],
    ['health', b.health],
  ];
  for (const [field, list] of lists) {
    const i = list.findIndex((x) => x.t - shift > limit);
    if (i >= 0) return `${field}.${i}.t is ${Math.round(((list[i] as { t: number }).t - shift - now) / 3600_000)} h ahead of the collector's clock (limit ${MAX_FUTURE_MS / 3600_000} h)`;
  }
  if (b.runEnd && b.runEnd.t - shift > limit) return `runEnd.t is ahead of the collector's clock by more than ${MAX_FUTURE_MS / 3600_000} h`;
  return null;
}
