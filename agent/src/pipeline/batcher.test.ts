import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Loss, Sample, SamplerHealth } from '@stagewatch/shared';
import { Batcher, type BatchSpool } from './batcher.js';

/** The spool as a list of batch texts. */
class MemorySpool implements BatchSpool {
  readonly batches: Array<{ type: string; seq: number; samples: Sample[]; runEnd?: unknown }> = [];
  loss: Loss = { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 };
  append(_samples: number, render: (seq: number) => string): number {
    const seq = this.batches.length + 1;
    this.batches.push(JSON.parse(render(seq)) as MemorySpool['batches'][number]);
    return seq;
  }
  health(host: string, now: number): SamplerHealth {
    return { t: now, host, source: 'health', sampler: 'spool', state: 'degraded', restarts: 0, lines: 0, badLines: 0, absent: {} };
  }
}

const sample = (t: number): Sample => ({ t, host: 'h', source: 'host', dur_ms: 100, m: { cpu_pct: 1 } });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Batcher', () => {
  it('starts its timer only when something waits, and lets it go once that is spooled', () => {
    const spool = new MemorySpool();
    const exported: number[] = [];
    const batcher = new Batcher(spool, { export: (seq) => void exported.push(seq) }, { runId: 'r', batchMs: 500 });
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(exported).toEqual([]);
    batcher.addMarks([{ t: 1, kind: 'begin', stage: 'x', source: 'log' } as never]);
    expect(vi.getTimerCount()).toBe(1);
    // The last flush (construction) was 10 s ago: two batch intervals have long passed.
    vi.advanceTimersByTime(0);
    expect(exported).toEqual([1]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('shutdown spools what is left once, and no timer outlives it', () => {
    const spool = new MemorySpool();
    const exported: number[] = [];
    const batcher = new Batcher(spool, { export: (seq) => void exported.push(seq) }, { runId: 'r', batchMs: 500 });
    batcher.add(sample(1));
    batcher.endRun({ t: 2.4, exitCode: 0 });
    expect(vi.getTimerCount()).toBe(1);
    batcher.shutdown();
    batcher.shutdown();
    expect(exported).toEqual([1]);
    expect(spool.batches[0]).toMatchObject({ seq: 1, samples: [sample(1)], runEnd: { t: 2, exitCode: 0 } });
    expect(vi.getTimerCount()).toBe(0);
    batcher.addMarks([{ t: 3, kind: 'end', stage: 'x', source: 'log' } as never]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses a batch interval or size it cannot work with, naming it', () => {
    const spool = new MemorySpool();
    expect(() => new Batcher(spool, { export: () => {} }, { runId: null, batchMs: 0 })).toThrow(/batchMs must be a positive number \(got 0\)/);
    expect(() => new Batcher(spool, { export: () => {} }, { runId: null, batchMs: 10, maxSamplesPerBatch: 0 })).toThrow(/maxSamplesPerBatch must be a positive integer/);
  });
});
