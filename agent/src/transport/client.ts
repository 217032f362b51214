import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import {
  AGENT_KEY_HEADER,
  Backoff,
  clockFromPing,
  CloseCode,
  CollectorMessageSchema,
  type ClockEstimate,
  type Hello,
  waitUnlessAborted,
} from '@stagewatch/shared';
import type { Spool } from './spool.js';
import { agentUrl, upgradeRefusal } from './collector-url.js';
import { jsonBatch, takesColumnar, wireBatch } from './frames.js';

export interface ClientOptions {
  url: string;
  token?: string;
  hello: () => Hello;
  spool: Spool;
  log: (msg: string) => void;
  heartbeatMs?: number;
  /** Batches sent and not yet acked, at most. */
  window?: number;
  backoff?: { initialMs: number; maxMs: number };
  clockEveryMs?: number;
  /** The agent's clock; injectable so tests can skew it. */
  now?: () => number;
  /** The collector refused us for good (a configuration error): called once, and the client stops. */
  onFatal?: (message: string) => void;
  /** Each batch frame as it goes out (`--out` keeps what the collector got, clock included). */
  onSend?: (seq: number, frame: string) => void;
}

/** Close codes by which the collector says a frame it got was invalid (not that it is unwell). */
const REFUSED: ReadonlySet<number> = new Set([CloseCode.invalidPayload, CloseCode.policy, CloseCode.tooBig]);
/** Refusals in a row, with no ack between, after which the agent stops blaming single batches. */
const MAX_REFUSALS_IN_A_ROW = 3;

/**
 * The agent's side of the WebSocket: hello, resend everything the spool holds in order, drop
 * what the collector acks, estimate the clock offset NTP-style, and reconnect with exponential
 * backoff and jitter whenever the link breaks.
 *
 * A batch the collector refuses (it closes with 1007, 1008 or 1009 while batches are in flight)
 * would be resent first on every reconnect, forever. So after a refusal the client sends one batch
 * at a time; a refusal with exactly one batch in flight names it, and that entry is quarantined.
 * If refusals keep coming with no ack between, the fault is not in single batches (versions that
 * disagree, say): the client stops quarantining, keeps the data spooled and backs off.
 */
export class CollectorClient {
  connected = false;
  clock: ClockEstimate | null = null;
  private ws: WebSocket | null = null;
  private stopped = false;
  private readonly inflight = new Set<number>();
  private readyToSend = false;
  /** This connection's collector takes columnar batch frames (frames.ts). */
  private columnar = false;
  private readonly backoff: Backoff;
  /** Sending one batch at a time to find the one the collector refuses. */
  private isolating = false;
  private refusalsInARow = 0;
  private pingId = 0;
  private readonly pings = new Map<number, number>();
  private samplesOfClock: ClockEstimate[] = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly abort = new AbortController();
  private drainWaiters: Array<(drained: boolean) => void> = [];
  private loop: Promise<void> | null = null;

  private readonly now: () => number;
  private readonly url: string;
  /** Why the collector refused us for good, once it did. */
  fatal: string | null = null;
  private everConnected = false;
  private lostAt: number | null = null;
  /** A backlog being sent after a (re)connect: logged when the spool is empty again. */
  private catchUp: { since: number; backlog: number; sent: number } | null = null;

  constructor(private readonly opts: ClientOptions) {
    this.now = opts.now ?? Date.now;
    this.url = agentUrl(opts.url);
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 250, maxMs: 30_000 });
  }

  /** Every timer of a connection goes through here: cleared when it ends, never holding the process. */
  private track(t: NodeJS.Timeout): void {
    t.unref();
    this.timers.push(t);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** A new batch is in the spool. */
  notify(): void {
    this.pump();
  }

  /** Resolves once the spool is empty (everything acked), or after timeoutMs. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.opts.spool.size.batches === 0) return true;
    // Refused for good: nothing more will be acknowledged, so do not wait for it.
    if (this.fatal !== null) return false;
    const timeout = new AbortController();
    const done = new Promise<boolean>((r) => this.drainWaiters.push(r));
    const expired = sleep(timeoutMs, false, { signal: timeout.signal }).catch(() => false);
    const drained = await Promise.race([done, expired]);
    timeout.abort();
    return drained;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.ws?.close(1000, 'agent stopping');
    this.ws?.terminate();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const why = await this.connectOnce();
      if (this.stopped) return;
      if (this.fatal !== null) {
        this.opts.log(`ERROR: configuration error: ${this.fatal}; not retrying (${this.opts.spool.size.batches} batches stay spooled)`);
        this.opts.onFatal?.(this.fatal);
        for (const w of this.drainWaiters.splice(0)) w(false);
        return;
      }
      this.lostAt ??= Date.now();
      const delay = this.backoff.next();
      this.opts.log(`collector ${this.url}: ${why}; reconnecting in ${Math.round(delay)} ms (${this.opts.spool.size.batches} batches spooled)`);
      // Not unref'd: while the link is down this wait is what the agent is doing.
      if (!(await waitUnlessAborted(delay, this.abort.signal))) return;
    }
  }

  /** The collector closed the link because of something we sent: find and quarantine the batch. */
  private onRefused(code: number, reason: string): void {
    if (!REFUSED.has(code) || this.inflight.size === 0) return;
    this.refusalsInARow++;
    const what = `${code}${reason ? ` ${reason}` : ''}`;
    if (this.refusalsInARow > MAX_REFUSALS_IN_A_ROW) {
      this.opts.log(`WARNING: the collector refuses every batch (${what}); keeping them spooled: do agent and collector versions match?`);
      return;
    }
    if (this.isolating && this.inflight.size === 1) {
      const [seq] = this.inflight as Set<number> & Iterable<number>;
      this.opts.spool.quarantine(seq as number, 'rejected', what);
      return;
    }
    this.isolating = true;
    this.opts.log(`the collector refused a batch (${what}); sending one at a time to find it`);
  }

  private connectOnce(): Promise<string> {
    return new Promise<string>((resolve) => {
      const ws = new WebSocket(this.url, {
        headers: {
          ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}),
          [AGENT_KEY_HEADER]: this.opts.spool.agentKey,
        },
        handshakeTimeout: 10_000,
        maxPayload: 1 << 20,
      });
      this.ws = ws;
      let settled = false;
      let lastPong = Date.now();
      const finish = (why: string): void => {
        if (settled) return;
        settled = true;
        this.connected = false;
        this.readyToSend = false;
        this.inflight.clear();
        for (const t of this.timers) clearTimeout(t);
        this.timers = [];
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        resolve(why);
      };
      ws.on('upgrade', (res) => (this.columnar = takesColumnar(res)));
      ws.on('unexpected-response', (_req, res) => {
        const refusal = upgradeRefusal(res.statusCode ?? 0, this.url);
        if (refusal.permanent) this.fatal = refusal.message;
        finish(refusal.message);
      });
      ws.on('error', (e) => finish(e.message || String(e)));
      ws.on('close', (code, reason) => {
        if (!settled) this.onRefused(code, reason.toString());
        finish(`connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
      });
      ws.on('open', () => {
        this.connected = true;
        ws.send(JSON.stringify(this.opts.hello()));
        const hb = this.opts.heartbeatMs ?? 10_000;
        // No pong for two heartbeat intervals: the link is dead even if TCP has not noticed.
        this.track(
          setInterval(() => {
            if (Date.now() - lastPong > 2 * hb) return finish(`no heartbeat for ${Date.now() - lastPong} ms`);
            ws.ping();
          }, hb),
        );
      });
      ws.on('pong', () => (lastPong = Date.now()));
      ws.on('message', (data) => {
        lastPong = Date.now();
        let msg;
        try {
          msg = CollectorMessageSchema.parse(JSON.parse(String(data)));
        } catch (e) {
          return finish(`collector sent an invalid message: ${(e as Error).message.slice(0, 200)}`);
        }
        if (msg.type === 'welcome') {
          // A link that is refused again and again keeps backing off (see onRefused).
          if (this.refusalsInARow === 0) this.backoff.reset();
          this.opts.spool.ackThrough(msg.storedThrough);
          this.onWelcome();
          this.startClock(ws);
        } else if (msg.type === 'pong') {
          this.onPong(msg.id, msg.t0, msg.t1, msg.t2, this.now());
        } else {
          for (const seq of msg.seqs) {
            this.inflight.delete(seq);
            this.opts.spool.ack(seq);
          }
          if (msg.seqs.length > 0) {
            this.isolating = false;
            this.refusalsInARow = 0;
            this.backoff.reset();
          }
          this.pump();
        }
      });
    });
  }

  /** Says when the link is (back) up and how much it has to send; pump() says when that is done. */
  private onWelcome(): void {
    const backlog = this.opts.spool.size.batches;
    if (!this.everConnected) this.opts.log(`connected to ${this.url}${backlog ? `; ${backlog} batches spooled from before to send` : ''}`);
    else this.opts.log(`reconnected to ${this.url} after ${((Date.now() - (this.lostAt ?? Date.now())) / 1000).toFixed(1)} s; ${backlog} batches spooled to resend`);
    this.everConnected = true;
    this.lostAt = null;
    this.catchUp = backlog > 0 ? { since: Date.now(), backlog, sent: 0 } : null;
  }

  private startClock(ws: WebSocket): void {
    const ping = (): void => {
      const id = ++this.pingId;
      const t0 = this.now();
      this.pings.set(id, t0);
      ws.send(JSON.stringify({ type: 'ping', id, t0 }));
    };
    // A burst first, so batches go out with an estimate; then one ping now and then. Tracked, so
    // none of them fires into the next connection before its welcome.
    for (let i = 0; i < 5; i++) this.track(setTimeout(ping, i * 20));
    this.track(setInterval(ping, this.opts.clockEveryMs ?? 10_000));
    // Never hold data back for long if pongs do not come.
    this.track(setTimeout(() => this.beginSending(), 1000));
  }

  private onPong(id: number, t0: number, t1: number, t2: number, t3: number): void {
    if (this.pings.get(id) !== t0) return;
    this.pings.delete(id);
    // Keep the estimates of the last few pings and trust the one with the shortest round trip.
    this.samplesOfClock.push(clockFromPing(t0, t1, t2, t3));
    if (this.samplesOfClock.length > 8) this.samplesOfClock.shift();
    this.clock = this.samplesOfClock.reduce((best, c) => (c.errorMs < best.errorMs ? c : best));
    if (this.samplesOfClock.length >= 3) this.beginSending();
  }

  private beginSending(): void {
    if (!this.connected || this.readyToSend) return;
    this.readyToSend = true;
    this.pump();
  }

  private pump(): void {
    const ws = this.ws;
    const spool = this.opts.spool;
    if (ws && this.readyToSend && ws.readyState === WebSocket.OPEN) {
      const window = this.isolating ? 1 : (this.opts.window ?? 64);
      // The in-flight seqs are among the oldest pending, so this many always holds enough to send.
      for (const seq of spool.pendingSeqs(window + this.inflight.size)) {
        if (this.inflight.size >= window) break;
        if (this.inflight.has(seq)) continue;
        // null: damaged, and quarantined by the spool; the next one goes instead.
        const body = spool.read(seq);
        if (body === null) continue;
        const frame = wireBatch(body, this.clock, this.columnar);
        ws.send(frame);
        // The run file (--out) keeps the JSON form of what went out, whatever the wire's.
        if (this.opts.onSend) this.opts.onSend(seq, typeof frame === 'string' ? frame : jsonBatch(body, this.clock));
        this.inflight.add(seq);
        if (this.catchUp) this.catchUp.sent++;
      }
    }
    if (spool.size.batches > 0) return;
    if (this.catchUp) {
      const c = this.catchUp;
      this.catchUp = null;
      this.opts.log(`caught up: ${c.sent} batches sent (${c.backlog} were spooled) in ${((Date.now() - c.since) / 1000).toFixed(1)} s`);
    }
    for (const w of this.drainWaiters.splice(0)) w(true);
  }
}
