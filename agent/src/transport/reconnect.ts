import { Backoff, type BackoffPolicy } from '@stagewatch/shared';
import { TimerSet } from './timers.js';

/**
 * Which collector to try, when to try again after the link broke (exponential backoff with
 * jitter), and what the operator is told about it: why it broke, where it goes next, when it is
 * back and how long it was gone.
 *
 * With several collectors the agent sends to one at a time, the first reachable in the order
 * given: a broken link moves it on to the next (after the first, back to the first), and a
 * collector that refuses it for good (a configuration error) leaves the rotation. The spool keeps
 * every batch until a collector acknowledges it, so what one collector did not store goes to the
 * next; see README, "Several collectors".
 */
export class Reconnect {
  private readonly backoff: Backoff;
  private readonly timers = new TimerSet();
  private readonly urls: string[];
  private readonly refused = new Set<string>();
  private index = 0;
  private everConnected = false;
  private lostAt: number | null = null;

  constructor(
    urls: readonly string[],
    policy: BackoffPolicy,
    private readonly log: (msg: string) => void,
  ) {
    if (urls.length === 0) throw new RangeError('Reconnect: give at least one collector');
    this.urls = [...urls];
    this.backoff = new Backoff(policy);
  }

  /** The collector to connect to now. */
  get current(): string {
    return this.urls[this.index] as string;
  }

  /** The link to the current collector went down for `why`: says so, and calls `attempt` after the backoff's delay. */
  lost(why: string, spooled: number, attempt: () => void): void {
    const from = this.current;
    this.lostAt ??= Date.now();
    this.advance();
    const delay = this.backoff.next();
    const to = this.current === from ? '' : ` to ${this.current}`;
    this.log(`collector ${from}: ${why}; reconnecting in ${Math.round(delay)} ms${to} (${spooled} batches spooled)`);
    // unref'd like every timer here: while the link is down the samplers (or a caller waiting for
    // a drain) keep the process up, and a shutdown clears this wait.
    this.timers.timeout(attempt, delay);
  }

  /**
   * The current collector refused the agent for good. Returns false when no collector is left to
   * try; else the rotation goes on without it (`lost` then says where to).
   */
  refuse(): boolean {
    this.refused.add(this.current);
    return this.refused.size < new Set(this.urls).size;
  }

  /** A collector welcomed the agent with `backlog` batches still to send. */
  welcomed(backlog: number): void {
    const url = this.current;
    if (!this.everConnected) this.log(`connected to ${url}${backlog ? `; ${backlog} batches spooled from before to send` : ''}`);
    else this.log(`reconnected to ${url} after ${((Date.now() - (this.lostAt ?? Date.now())) / 1000).toFixed(1)} s; ${backlog} batches spooled to resend`);
    this.everConnected = true;
    this.lostAt = null;
  }

  /** The link works (a welcome, an ack): the next failure waits the shortest delay again. */
  healthy(): void {
    this.backoff.reset();
  }

  /** No attempt is pending after this. */
  stop(): void {
    this.timers.clear();
  }

  private advance(): void {
    for (let i = 1; i <= this.urls.length; i++) {
      const next = (this.index + i) % this.urls.length;
      if (!this.refused.has(this.urls[next] as string)) {
        this.index = next;
        return;
      }
    }
  }
}
