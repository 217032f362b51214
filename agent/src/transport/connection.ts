import { CollectorMessageSchema, type Hello } from '@stagewatch/shared';
import type { ClockSync } from './clock-sync.js';
import { upgradeRefusal } from './collector-url.js';
import { startHeartbeat } from './heartbeat.js';
import type { LinkSocket, OpenSocket, SocketEnd } from './socket.js';
import { TimerSet } from './timers.js';

export interface ConnectionOptions {
  url: string;
  headers: Record<string, string>;
  hello: Hello;
  heartbeatMs: number;
  clock: ClockSync;
  openSocket: OpenSocket;
}

/** How a connection ended: in words, and what the collector said, when it said something. */
export interface ConnectionEnd {
  why: string;
  /** The collector closed the link with this code (see SendWindow.closed). */
  closedWith?: { code: number; reason: string };
  /** The upgrade was refused in a way retrying cannot mend (a configuration error). */
  permanent?: boolean;
}

export interface ConnectionEvents {
  welcome(storedThrough: number): void;
  /** Clock estimates are in (or a second passed): batches may go out. */
  ready(): void;
  ack(seqs: readonly number[]): void;
  /** Fires once, unless the owner closed the connection itself. */
  ended(end: ConnectionEnd): void;
}

type State = 'connecting' | 'open' | 'welcomed' | 'sending' | 'ended';

/**
 * One WebSocket's life: hello, welcome, clock pings, heartbeat, acks. Every timer it starts is
 * its own and cleared when it ends, and it sends batches only between its own welcome and its
 * end: a callback left over from a previous connection has no way to write into this one.
 */
export class Connection {
  private state: State = 'connecting';
  private readonly timers = new TimerSet();
  private readonly socket: LinkSocket;
  private heartbeat: { alive(): void } | null = null;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.socket = opts.openSocket(opts.url, opts.headers, {
      open: () => this.onOpen(),
      message: (text) => this.onMessage(text),
      pong: () => this.heartbeat?.alive(),
      end: (how) => this.end(describe(how, opts.url)),
    });
  }

  /** Welcomed, clock estimated, socket open: a batch sent now goes to this collector. */
  get canSend(): boolean {
    return this.state === 'sending' && this.socket.isOpen;
  }

  /** This connection's collector takes columnar batch frames. */
  get columnar(): boolean {
    return this.socket.columnar === true;
  }

  send(data: string | Uint8Array): void {
    if (!this.canSend) throw new Error(`send on a connection that is ${this.state}`);
    this.socket.send(data);
  }

  /** Closes it from this side (the agent stops): no `ended` event. */
  close(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.timers.clear();
    this.socket.destroy(1000, 'agent stopping');
  }

  private end(end: ConnectionEnd): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.timers.clear();
    this.socket.destroy();
    this.events.ended(end);
  }

  private onOpen(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    this.socket.send(JSON.stringify(this.opts.hello));
    this.heartbeat = startHeartbeat(
      this.timers,
      this.opts.heartbeatMs,
      () => this.socket.ping(),
      (silent) => this.end({ why: `no heartbeat for ${silent} ms` }),
    );
  }

  private onMessage(text: string): void {
    if (this.state === 'ended') return;
    this.heartbeat?.alive();
    let msg;
    try {
      msg = CollectorMessageSchema.parse(JSON.parse(text));
    } catch (e) {
      return this.end({ why: `collector sent an invalid message: ${(e as Error).message.slice(0, 200)}` });
    }
    if (msg.type === 'welcome') {
      if (this.state !== 'open') return this.end({ why: 'collector sent a second welcome' });
      this.state = 'welcomed';
      this.events.welcome(msg.storedThrough);
      this.opts.clock.begin(this.timers, (t) => this.socket.send(t), () => this.onClockReady());
    } else if (msg.type === 'pong') {
      this.opts.clock.pong(msg.id, msg.t0, msg.t1, msg.t2);
    } else {
      this.events.ack(msg.seqs);
    }
  }

  private onClockReady(): void {
    if (this.state !== 'welcomed') return;
    this.state = 'sending';
    this.events.ready();
  }
}

function describe(how: SocketEnd, url: string): ConnectionEnd {
  if (how.kind === 'refused') {
    const r = upgradeRefusal(how.status, url);
    return { why: r.message, permanent: r.permanent };
  }
  if (how.kind === 'error') return { why: how.message };
  return { why: `connection closed (${how.code}${how.reason ? ` ${how.reason}` : ''})`, closedWith: { code: how.code, reason: how.reason } };
}
