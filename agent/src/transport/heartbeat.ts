import type { TimerSet } from './timers.js';

/**
 * Pings every `everyMs` and calls `onDead` when nothing (no pong, no message) came for two
 * intervals: the link is dead even if TCP has not noticed (a frozen collector, a dead path).
 * The interval lives in the connection's timers, so it ends with the connection.
 */
export function startHeartbeat(
  timers: TimerSet,
  everyMs: number,
  ping: () => void,
  onDead: (silentMs: number) => void,
  now: () => number = Date.now,
): { alive(): void } {
  let last = now();
  timers.interval(() => {
    const silent = now() - last;
    if (silent > 2 * everyMs) onDead(silent);
    else ping();
  }, everyMs);
  return {
    alive: () => {
      last = now();
    },
  };
}
