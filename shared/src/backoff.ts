import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffPolicy {
  /** The first delay's upper bound, ms. */
  initialMs: number;
  /** No delay is longer than this, ms. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": the delay for the n-th consecutive failure lies in
 * [base/2, base] where base = min(maxMs, initialMs * 2^n). Half fixed so a retry never comes at
 * once; half random so many clients that failed together do not retry together. Written here
 * (ten lines) because the npm retry packages wrap a whole call in retries, and the three loops
 * that use this (collector link, supervised child, InfluxDB sink) each decide for themselves
 * what a failure is and when the count starts over.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return base / 2 + random() * (base / 2);
}

/** A failure counter and the delay it earns. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay after one more failure. */
  next(): number {
    return backoffDelay(this.failures++, this.policy, this.random);
  }

  /** A success: the next failure waits the shortest delay again. */
  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}

/**
 * Waits `ms`, or less when `signal` aborts; resolves true if the wait ran its course. The timer
 * is tracked by the signal, so a stopping owner never leaves it behind.
 */
export async function waitUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
