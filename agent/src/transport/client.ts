import { AGENT_KEY_HEADER, Once, type BackoffPolicy, type ClockEstimate, type Hello } from '@stagewatch/shared';
import { ClockSync } from './clock-sync.js';
import { agentUrl } from './collector-url.js';
import { Connection, type ConnectionEnd } from './connection.js';
import { Drain } from './drain.js';
import { jsonBatch, wireBatch, type BatchFrames } from './frames.js';
import type { BatchExporter } from './exporter.js';
import { Reconnect } from './reconnect.js';
import { SendWindow, type SpoolQueue } from './send-window.js';
import { openWebSocket, type OpenSocket } from './socket.js';

/** What the client needs of the spool. */
export interface ClientSpool extends SpoolQueue {
  /** Proves the spool's agent id to the collector (see Hello.agentKey). */
  readonly agentKey: string;
  ackThrough(seq: number): void;
}

export interface ClientOptions {
  /** The collector, or several: one is sent to at a time, the next tried when its link breaks. */
  url: string | readonly string[];
  token?: string;
  hello: () => Hello;
  spool: ClientSpool;
  log: (msg: string) => void;
  heartbeatMs?: number;
  /** Batches sent and not yet acked, at most. */
  window?: number;
  backoff?: BackoffPolicy;
  clockEveryMs?: number;
  /** The agent's clock; injectable so tests can skew it. */
  now?: () => number;
  /** The collector refused us for good (a configuration error): called once, and the client stops. */
  onFatal?: (message: string) => void;
  /** The socket to use; tests hand in a fake. */
  openSocket?: OpenSocket;
  /**
   * How batches go out: JSON text, or columnar frames where the collector says it takes them.
   * JSON by default: on the agent's side a columnar frame is a parse, a check and an encode of
   * each spooled batch, +0.4 % of a core at 10 Hz measured (NVML stand-in, one GPU: 1.67-1.77 %
   * against 1.27-1.32 %), where the agent should stay near 1 %. A large fleet's collector gains
   * more from them (docs/PERFORMANCE.md): `--frames columnar`.
   */
  frames?: BatchFrames;
  /** Each batch frame as it goes out, clock included (`--out` keeps what the collector got). */
  onSend?: (seq: number, frame: string) => void;
}

const positiveInt = (name: string, v: number | undefined): void => {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new RangeError(`CollectorClient: ${name} must be a positive integer (got ${v})`);
};

/**
 * The agent's side of the WebSocket, as an exporter of spooled batches: hello, resend everything
 * the spool holds in order, drop what the collector acks, estimate the clock offset, and
 * reconnect with backoff whenever the link breaks. Each job is a piece of its own: Connection
 * (one socket's life, heartbeat and clock pings included), ClockSync, SendWindow (in flight,
 * refused batches), Reconnect (backoff and what is logged), Drain (waiting for the spool to
 * empty). This class only wires them.
 */
export class CollectorClient implements BatchExporter {
  private readonly clockSync: ClockSync;
  private readonly window: SendWindow;
  private readonly reconnect: Reconnect;
  private readonly drain: Drain;
  private readonly openSocket: OpenSocket;
  private conn: Connection | null = null;
  private started = false;
  private fatalMessage: string | null = null;
  private readonly stopping = new Once(async () => this.stop());

  constructor(private readonly opts: ClientOptions) {
    const urls = (typeof opts.url === 'string' ? [opts.url] : opts.url).map(agentUrl);
    positiveInt('heartbeatMs', opts.heartbeatMs);
    positiveInt('window', opts.window);
    positiveInt('clockEveryMs', opts.clockEveryMs);
    const backoff = opts.backoff ?? { initialMs: 250, maxMs: 30_000 };
    if (!(backoff.initialMs > 0 && backoff.maxMs > 0)) {
      throw new RangeError(`CollectorClient: backoff needs initialMs and maxMs above 0 (got ${backoff.initialMs}, ${backoff.maxMs})`);
    }
    this.clockSync = new ClockSync(opts.now ?? Date.now, opts.clockEveryMs ?? 10_000);
    this.window = new SendWindow(opts.spool, opts.window ?? 64, opts.log);
    this.reconnect = new Reconnect(urls, backoff, opts.log);
    this.drain = new Drain(opts.spool, opts.log);
    this.openSocket = opts.openSocket ?? openWebSocket;
  }

  /** The best clock estimate so far (null before the first pong). */
  get clock(): ClockEstimate | null {
    return this.clockSync.estimate;
  }

  /** Why the collector refused us for good, once it did. */
  get fatal(): string | null {
    return this.fatalMessage;
  }

  /** Connects now, with or without anything to send (the hello says the agent is there). */
  start(): void {
    if (this.started || this.stopping.called) return;
    this.started = true;
    this.connect();
  }

  export(_seq: number): void {
    this.start();
    this.pump();
  }

  forceFlush(timeoutMs: number): Promise<boolean> {
    // Refused for good, or stopped: nothing more will be acknowledged, so do not wait for it.
    if (this.fatalMessage !== null || this.stopping.called) return Promise.resolve(this.opts.spool.size.batches === 0);
    return this.drain.wait(timeoutMs);
  }

  shutdown(): Promise<void> {
    return this.stopping.call();
  }

  private stop(): void {
    this.reconnect.stop();
    this.conn?.close();
    this.conn = null;
    this.drain.settle(this.opts.spool.size.batches === 0);
  }

  private connect(): void {
    const conn: Connection = new Connection(
      {
        url: this.reconnect.current,
        headers: { ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}), [AGENT_KEY_HEADER]: this.opts.spool.agentKey },
        hello: this.opts.hello(),
        heartbeatMs: this.opts.heartbeatMs ?? 10_000,
        clock: this.clockSync,
        openSocket: this.openSocket,
      },
      {
        welcome: (storedThrough) => {
          // A link that is refused again and again keeps backing off (see SendWindow.closed).
          if (!this.window.refusing) this.reconnect.healthy();
          this.opts.spool.ackThrough(storedThrough);
          const backlog = this.opts.spool.size.batches;
          this.reconnect.welcomed(backlog);
          this.drain.backlog(backlog);
          this.drain.check();
        },
        ready: () => this.pump(),
        ack: (seqs) => {
          if (this.window.acked(seqs)) this.reconnect.healthy();
          this.pump();
        },
        ended: (end) => this.onEnded(conn, end),
      },
    );
    this.conn = conn;
  }

  private onEnded(conn: Connection, end: ConnectionEnd): void {
    if (this.conn !== conn) return;
    this.conn = null;
    if (end.closedWith) this.window.closed(end.closedWith.code, end.closedWith.reason);
    this.window.reset();
    if (end.permanent && this.reconnect.refuse()) {
      this.opts.log(`ERROR: configuration error: ${end.why}; trying the other collectors`);
    } else if (end.permanent) {
      this.fatalMessage = end.why;
      this.opts.log(`ERROR: configuration error: ${end.why}; not retrying (${this.opts.spool.size.batches} batches stay spooled)`);
      this.opts.onFatal?.(end.why);
      this.drain.settle(false);
      return;
    }
    this.reconnect.lost(end.why, this.opts.spool.size.batches, () => this.connect());
  }

  private pump(): void {
    const conn = this.conn;
    if (conn?.canSend) {
      // The spooled text is a JSON object; the clock known now is put in front of its fields.
      const sent = this.window.fill((seq, body) => {
        const frame = wireBatch(body, this.clock, conn.columnar && this.opts.frames === 'columnar');
        conn.send(frame);
        // The run file (--out) keeps the JSON form of what went out, whatever the wire's.
        if (this.opts.onSend) this.opts.onSend(seq, typeof frame === 'string' ? frame : jsonBatch(body, this.clock));
      });
      this.drain.sent(sent);
    }
    this.drain.check();
  }
}
