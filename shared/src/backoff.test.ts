import { afterEach, describe, expect, it, vi } from 'vitest';
import { Backoff, backoffDelay, waitUnlessAborted } from './backoff.js';

describe('backoff', () => {
  afterEach(() => void vi.useRealTimers());

  it('doubles from initialMs up to maxMs, each delay in [base/2, base]', () => {
    const p = { initialMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10, 500].map((n) => backoffDelay(n, p, () => 0))).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, p, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(2, p, () => 0.5)).toBe(300);
  });

  it('counts failures and starts over after a success', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 1000 }, () => 1);
    expect([b.next(), b.next(), b.next()]).toEqual([10, 20, 40]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(10);
  });

  it('a wait ends early, saying so, when its owner aborts', async () => {
    vi.useFakeTimers();
    const ac = new AbortController();
    const full = waitUnlessAborted(1000, ac.signal);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await full).toBe(true);
    const cut = waitUnlessAborted(1000, ac.signal);
    ac.abort();
    expect(await cut).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
