import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Sample } from '@stagewatch/shared';
import { tempDir } from '../../../test/helpers/agent.js';
import { Spool } from '../transport/spool.js';
import { Batcher } from '../pipeline/batcher.js';
import { IntervalSampler } from './interval.js';
import { Ticker } from './ticker.js';
import type { Emit } from './types.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** An interval sampler that records when it read. */
class Recorder extends IntervalSampler {
  readonly name = 'recorder';
  readonly at: number[] = [];
  protected sampleOnce(emit: Emit): void {
    this.at.push(Date.now());
    emit({ t: Date.now(), host: 'h', source: 'host', dur_ms: 100, m: { cpu_pct: 1 } });
  }
}

describe('one shared tick', () => {
  it('wakes once per interval for every sampler on it, started at different times, and stops with the last', async () => {
    const ticker = new Ticker(100);
    const ctx = { host: 'h', log: () => {}, ticker };
    const a = new Recorder(ctx, 100);
    const b = new Recorder(ctx, 100);
    const own = new Recorder({ host: 'h', log: () => {}, ticker }, 250); // another interval: its own timer
    a.start(() => {});
    vi.advanceTimersByTime(30);
    b.start(() => {});
    own.start(() => {});
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(300);
    // b read at its start (30), then with a on the shared tick.
    expect(a.at).toEqual([0, 100, 200, 300]);
    expect(b.at).toEqual([30, 100, 200, 300]);
    expect(own.at).toEqual([30, 280]);
    await a.stop();
    await own.stop();
    expect(vi.getTimerCount()).toBe(1);
    await b.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(b.health(0).state).toBe('stopped');
  });
});

describe('batches ride on the samples', () => {
  it('flush when a sample arrives a batch interval after the last flush, and by timer only after two quiet intervals', async () => {
    const dir = tempDir();
    try {
      const spool = Spool.open(dir, 1 << 20, () => {}, 'h');
      const notified: number[] = [];
      const client = { export: () => void notified.push(Date.now()) };
      const streamer = new Batcher(spool, client, { runId: null, batchMs: 500 });
      const s = (t: number): Sample => ({ t, host: 'h', source: 'host', dur_ms: 100, m: { cpu_pct: 1 } });
      for (let t = 100; t <= 1000; t += 100) {
        vi.advanceTimersByTime(100);
        streamer.add(s(t));
      }
      // At 500 and 1000: the tick that brought a sample flushed; no timer of its own fired.
      expect(notified).toEqual([500, 1000]);
      expect(spool.pendingSeqs()).toHaveLength(2);
      streamer.addMarks([{ t: 1100, kind: 'begin', stage: 'x', source: 'log' } as never]);
      vi.advanceTimersByTime(999);
      expect(notified).toEqual([500, 1000]);
      vi.advanceTimersByTime(1);
      expect(notified).toEqual([500, 1000, 2000]);
      streamer.shutdown();
      vi.advanceTimersByTime(5000);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
