import { Backoff, type BackoffPolicy } from '@stagewatch/shared';
import { TimerSet } from './timers.js';

/**
 * When to try again after the link broke (exponential backoff with jitter), and what the operator
 * is told about it: why it broke, when it comes back and how long it was gone.
 */
export class Reconnect {
  private readonly backoff: Backoff;
  private readonly timers = new TimerSet();
  private everConnected = false;
  private lostAt: number | null = null;

  constructor(
    policy: BackoffPolicy,
    private readonly log: (msg: string) => void,
  ) {
    this.backoff = new Backoff(policy);
  }

  /** The link to `url` went down for `why`: says so, and calls `attempt` after the backoff's delay. */
  lost(url: string, why: string, spooled: number, attempt: () => void): void {
    this.lostAt ??= Date.now();
    const delay = this.backoff.next();
    this.log(`collector ${url}: ${why}; reconnecting in ${Math.round(delay)} ms (${spooled} batches spooled)`);
    // unref'd like every timer here: while the link is down the samplers (or a caller waiting for
    // a drain) keep the process up, and a shutdown clears this wait.
    this.timers.timeout(attempt, delay);
  }

  /** A collector welcomed the agent with `backlog` batches still to send. */
  welcomed(url: string, backlog: number): void {
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
}
