import { clockFromPing, type ClockEstimate } from '@stagewatch/shared';
import type { TimerSet } from './timers.js';

/** Pings in the burst each connection starts with, 20 ms apart. */
const BURST = 5;
/** Estimates kept; the one with the shortest round trip is trusted. */
const KEEP = 8;
/** Estimates wanted before batches go out stamped with one. */
const ENOUGH = 3;
/** Batches are never held back longer than this for want of pongs. */
const MAX_WAIT_MS = 1000;

/**
 * The agent's clock offset from the collector's, NTP-style: each ping carries t0, the pong t1
 * and t2 (the collector's receive and send times), t3 is when it came back. The estimates
 * outlive a connection (the clocks did not change because a link broke); the pings do not.
 */
export class ClockSync {
  private pingId = 0;
  private readonly pings = new Map<number, number>();
  private readonly estimates: ClockEstimate[] = [];
  private best: ClockEstimate | null = null;
  private ready: (() => void) | null = null;

  constructor(
    private readonly now: () => number,
    private readonly everyMs: number,
  ) {}

  get estimate(): ClockEstimate | null {
    return this.best;
  }

  /**
   * Starts pinging a welcomed connection through `send`: a burst, so batches go out with an
   * estimate, then one ping every `everyMs`. `ready` is called once, when enough estimates are
   * in or after a second, whichever comes first. The timers are the connection's own.
   */
  begin(timers: TimerSet, send: (text: string) => void, ready: () => void): void {
    // Pings of an earlier connection will never be answered.
    this.pings.clear();
    let called = false;
    const fire = (): void => {
      if (called) return;
      called = true;
      ready();
    };
    this.ready = fire;
    const ping = (): void => {
      const id = ++this.pingId;
      const t0 = this.now();
      this.pings.set(id, t0);
      send(JSON.stringify({ type: 'ping', id, t0 }));
    };
    for (let i = 0; i < BURST; i++) timers.timeout(ping, i * 20);
    timers.interval(ping, this.everyMs);
    timers.timeout(fire, MAX_WAIT_MS);
  }

  /** A pong; one not answering a ping of this connection is ignored. */
  pong(id: number, t0: number, t1: number, t2: number): void {
    if (this.pings.get(id) !== t0) return;
    this.pings.delete(id);
    this.estimates.push(clockFromPing(t0, t1, t2, this.now()));
    if (this.estimates.length > KEEP) this.estimates.shift();
    this.best = this.estimates.reduce((b, c) => (c.errorMs < b.errorMs ? c : b));
    if (this.estimates.length >= ENOUGH) this.ready?.();
  }
}
