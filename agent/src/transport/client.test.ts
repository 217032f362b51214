import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROTOCOL_VERSION, type Hello } from '@stagewatch/shared';
import { CollectorClient, type ClientOptions, type ClientSpool } from './client.js';
import type { LinkSocket, OpenSocket, SocketEvents } from './socket.js';

/** A socket the test drives: what the client sent, and the collector's side by hand. */
class FakeSocket implements LinkSocket {
  isOpen = false;
  readonly sent: string[] = [];
  pings = 0;
  destroyed = 0;
  constructor(
    readonly url: string,
    readonly on: SocketEvents,
  ) {}
  send(text: string): void {
    if (!this.isOpen) throw new Error('send on a socket that is not open');
    this.sent.push(text);
  }
  /** A live collector answers every heartbeat. */
  ping(): void {
    this.pings++;
    this.on.pong();
  }
  destroy(): void {
    this.destroyed++;
    this.isOpen = false;
  }
  open(): void {
    this.isOpen = true;
    this.on.open();
  }
  welcome(storedThrough = 0): void {
    this.on.message(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, runId: null, storedThrough }));
  }
  /** Answers every ping sent so far, as a collector with the same clock would. */
  pong(): void {
    for (const m of this.types('ping')) this.on.message(JSON.stringify({ type: 'pong', id: m.id, t0: m.t0, t1: m.t0, t2: m.t0 }));
  }
  ack(...seqs: number[]): void {
    this.on.message(JSON.stringify({ type: 'ack', seqs }));
  }
  drop(): void {
    this.isOpen = false;
    this.on.end({ kind: 'error', message: 'ECONNRESET' });
  }
  types(type: string): Array<Record<string, number>> {
    return this.sent.map((t) => JSON.parse(t) as Record<string, number> & { type: string }).filter((m) => m.type === type);
  }
  batches(): number[] {
    return this.types('batch').map((b) => b.seq as number);
  }
}

/** The spool as a map of seq to batch text, in memory. */
class MemorySpool implements ClientSpool {
  readonly agentKey = 'k'.repeat(32);
  readonly entries = new Map<number, string>();
  private next = 1;
  add(): number {
    const seq = this.next++;
    this.entries.set(seq, JSON.stringify({ type: 'batch', seq, runId: null, samples: [], health: [], marks: [], loss: { batches: 0, samples: 0 } }));
    return seq;
  }
  get size() {
    return { batches: this.entries.size };
  }
  pendingSeqs(limit: number): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b).slice(0, limit);
  }
  read(seq: number): string | null {
    return this.entries.get(seq) ?? null;
  }
  ack(seq: number): void {
    this.entries.delete(seq);
  }
  ackThrough(seq: number): void {
    for (const s of [...this.entries.keys()]) if (s <= seq) this.entries.delete(s);
  }
  quarantine(seq: number): void {
    this.entries.delete(seq);
  }
  hold(): void {}
  release(): void {}
}

const HELLO: Hello = { type: 'hello', protocol: PROTOCOL_VERSION, agentId: 'a-1', host: 'h', runId: null, gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 'test' };

function setup(url: string | string[] = 'ws://c:7711', onFatal?: (m: string) => void, onSend?: ClientOptions['onSend']): { client: CollectorClient; spool: MemorySpool; sockets: FakeSocket[]; logs: string[] } {
  const sockets: FakeSocket[] = [];
  const open: OpenSocket = (u, _headers, on) => {
    const s = new FakeSocket(u, on);
    sockets.push(s);
    return s;
  };
  const spool = new MemorySpool();
  const logs: string[] = [];
  const client = new CollectorClient({ url, hello: () => HELLO, spool, log: (m) => logs.push(m), openSocket: open, heartbeatMs: 1000, backoff: { initialMs: 100, maxMs: 100 }, ...(onFatal ? { onFatal } : {}), ...(onSend ? { onSend } : {}) });
  return { client, spool, sockets, logs };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CollectorClient lifecycle (fake socket, fake timers)', () => {
  it('starts no timer before it has something to do', () => {
    setup();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends batches only after the welcome and the clock burst, and drops what is acked', async () => {
    const { client, spool, sockets } = setup();
    client.export(spool.add());
    const s = sockets[0] as FakeSocket;
    s.open();
    expect(s.types('hello')).toHaveLength(1);
    vi.advanceTimersByTime(5000);
    expect(s.batches()).toEqual([]);
    s.welcome();
    vi.advanceTimersByTime(100);
    s.pong();
    expect(s.batches()).toEqual([1]);
    const flushed = client.forceFlush(10_000);
    s.ack(1);
    expect(await flushed).toBe(true);
    await client.shutdown();
  });

  it('hands each batch frame it sends to onSend, clock in front, as the socket got it', async () => {
    const sent: Array<[number, string]> = [];
    const { client, spool, sockets } = setup('ws://c:7711', undefined, (seq, frame) => sent.push([seq, frame]));
    client.export(spool.add());
    client.export(spool.add());
    const s = sockets[0] as FakeSocket;
    s.open();
    s.welcome();
    vi.advanceTimersByTime(100);
    s.pong();
    expect(sent.map(([seq]) => seq)).toEqual([1, 2]);
    expect(sent.map(([, frame]) => frame)).toEqual(s.sent.filter((t) => t.includes('"type":"batch"')));
    expect(JSON.parse(sent[0]?.[1] ?? '{}')).toHaveProperty('clock');
    await client.shutdown();
  });

  it('shutdown runs once: a second call gets the same promise, the socket is let go once, nothing reconnects', async () => {
    const { client, spool, sockets } = setup();
    client.export(spool.add());
    const s = sockets[0] as FakeSocket;
    s.open();
    s.welcome();
    const first = client.shutdown();
    const second = client.shutdown();
    expect(second).toBe(first);
    await first;
    expect(s.destroyed).toBe(1);
    client.export(spool.add());
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
    expect(await client.forceFlush(1000)).toBe(false);
  });

  it('no timer outlives shutdown: heartbeat, clock pings, the reconnect wait and a pending flush deadline', async () => {
    const { client, spool, sockets } = setup();
    client.export(spool.add());
    const s = sockets[0] as FakeSocket;
    s.open();
    s.welcome();
    vi.advanceTimersByTime(50);
    // Heartbeat, clock interval, the rest of the burst, the send fallback.
    expect(vi.getTimerCount()).toBeGreaterThanOrEqual(3);
    s.drop();
    // The connection's timers went with it; only the reconnect wait is left.
    expect(vi.getTimerCount()).toBe(1);
    const flushed = client.forceFlush(30_000);
    expect(vi.getTimerCount()).toBe(2);
    await client.shutdown();
    expect(await flushed).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a stale send from the previous connection never fires on the next one before its welcome', async () => {
    const { client, spool, sockets, logs } = setup();
    for (let i = 0; i < 3; i++) client.export(spool.add());
    const first = sockets[0] as FakeSocket;
    first.open();
    first.welcome();
    // The link breaks inside the clock burst: pings and the 1 s "send anyway" are still pending.
    vi.advanceTimersByTime(30);
    first.drop();
    vi.advanceTimersByTime(100);
    const second = sockets[1] as FakeSocket;
    expect(second).toBeDefined();
    second.open();
    // Whatever the first connection had scheduled would fire in these seconds.
    client.export(spool.add());
    vi.advanceTimersByTime(5000);
    expect(second.sent.map((t) => (JSON.parse(t) as { type: string }).type)).toEqual(['hello']);
    expect(first.batches()).toEqual([]);
    second.welcome(1);
    vi.advanceTimersByTime(1000);
    // The welcome said seq 1 is stored: the rest go out, and only now.
    expect(second.batches()).toEqual([2, 3, 4]);
    expect(logs.join('\n')).toMatch(/reconnected to ws:\/\/c:7711\/agent after/);
    await client.shutdown();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses options it cannot work with, naming them', () => {
    const spool = new MemorySpool();
    const base = { url: 'ws://c:7711', hello: () => HELLO, spool, log: () => {} };
    expect(() => new CollectorClient({ ...base, heartbeatMs: 0 })).toThrow(/heartbeatMs must be a positive integer \(got 0\)/);
    expect(() => new CollectorClient({ ...base, window: 1.5 })).toThrow(/window must be a positive integer/);
    expect(() => new CollectorClient({ ...base, url: 'collector:7711' })).toThrow(/--collector must be ws:\/\//);
  });
});

describe('several collectors', () => {
  it('sends to the first; when its link breaks, moves to the next and resends what the first did not acknowledge', async () => {
    const { client, spool, sockets, logs } = setup(['ws://a:7711', 'ws://b:7711']);
    for (let i = 0; i < 3; i++) client.export(spool.add());
    const a = sockets[0] as FakeSocket;
    expect(a.url).toBe('ws://a:7711/agent');
    a.open();
    a.welcome();
    vi.advanceTimersByTime(1000);
    expect(a.batches()).toEqual([1, 2, 3]);
    a.ack(1);
    a.drop();
    vi.advanceTimersByTime(100);
    const b = sockets[1] as FakeSocket;
    expect(b.url).toBe('ws://b:7711/agent');
    b.open();
    b.welcome(0);
    vi.advanceTimersByTime(1000);
    expect(b.batches()).toEqual([2, 3]);
    b.ack(2, 3);
    expect(await client.forceFlush(1000)).toBe(true);
    expect(logs.join('\n')).toMatch(/collector ws:\/\/a:7711\/agent: ECONNRESET; reconnecting in \d+ ms to ws:\/\/b:7711\/agent/);
    // B's link breaks too: back to A, first in the order.
    b.drop();
    vi.advanceTimersByTime(100);
    expect(sockets[2]?.url).toBe('ws://a:7711/agent');
    await client.shutdown();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a collector that refuses the agent for good leaves the rotation; when none is left, the refusal is fatal', async () => {
    const fatal: string[] = [];
    const { client, spool, sockets, logs } = setup(['ws://a:7711', 'ws://b:7711'], (m) => fatal.push(m));
    client.export(spool.add());
    (sockets[0] as FakeSocket).on.end({ kind: 'refused', status: 401 });
    expect(logs.join('\n')).toMatch(/ERROR: configuration error: collector refused the token \(HTTP 401\).*; trying the other collectors/);
    expect(fatal).toEqual([]);
    vi.advanceTimersByTime(100);
    const b = sockets[1] as FakeSocket;
    expect(b.url).toBe('ws://b:7711/agent');
    b.drop();
    vi.advanceTimersByTime(100);
    // A is out of the rotation: B again.
    expect(sockets[2]?.url).toBe('ws://b:7711/agent');
    (sockets[2] as FakeSocket).on.end({ kind: 'refused', status: 404 });
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatch(/HTTP 404/);
    expect(await client.forceFlush(1000)).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    await client.shutdown();
  });
});
