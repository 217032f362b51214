import { ByteWriter } from '@stagewatch/shared';
import { describe, expect, it } from 'vitest';
import { decodeBlob, rollupBlob } from '../blocks.js';
import { orBits, rollKind } from './kinds.js';
import { bucketEnd, countThrough, rollUp, stepEnd, type RollInput } from './rollup.js';

const f = (xs: number[]): Float64Array => Float64Array.from(xs);

/** A gpu block of one metric (id 1) with lanes, times, durations and values. */
function gpuBlock(lane: number[], t: number[], dur: number[] | null, v: number[]): RollInput {
  return { source: 'gpu', n: t.length, ids: [1], hasPid: false, lane: f(lane), t: f(t), ord: null, dur: dur ? f(dur) : null, values: [f(v)] };
}

describe('roll-ups', () => {
  it('puts a reading stamped at t in the bucket (e - res, e]', () => {
    expect(bucketEnd(1000, 1000)).toBe(1000);
    expect(bucketEnd(1001, 1000)).toBe(2000);
    expect(bucketEnd(1, 10000)).toBe(10000);
  });

  it('makes ten 100 ms readings of a GPU one 1 s reading: mean, min and max, stamped at the bucket end, covering it', () => {
    const t = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000];
    const [o] = rollUp([gpuBlock(t.map(() => 0), t, t.map(() => 100), [0, 0, 0, 0, 0, 100, 100, 100, 100, 100])], 1000);
    expect(o?.n).toBe(1);
    expect([...(o?.t ?? [])]).toEqual([1000]);
    expect([...(o?.dur ?? [])]).toEqual([1000]);
    expect(o?.values[0]?.[0]).toBe(50);
    expect(o?.extremes.min[0]?.[0]).toBe(0);
    expect(o?.extremes.max[0]?.[0]).toBe(100);
  });

  it('weighs each reading by the interval it covers', () => {
    // 900 ms at 100, then 100 ms at 0: 90, where a plain mean of the two readings would say 50.
    const [o] = rollUp([gpuBlock([0, 0], [900, 1000], [900, 100], [100, 0])], 1000);
    expect(o?.values[0]?.[0]).toBe(90);
  });

  it('says how much of a bucket its readings covered: never the whole bucket for half of it', () => {
    const [o] = rollUp([gpuBlock([0, 0, 0], [1300, 1400, 1500], [100, 100, 100], [1, 2, 3])], 1000);
    expect([...(o?.t ?? [])]).toEqual([1500]);
    expect([...(o?.dur ?? [])]).toEqual([300]);
  });

  it('keeps GPUs apart, and readings of all lanes in (time, lane) order', () => {
    const [o] = rollUp([gpuBlock([1, 0, 1, 0], [500, 500, 1500, 1500], [500, 500, 500, 500], [10, 20, 30, 40])], 1000);
    expect([...(o?.t ?? [])]).toEqual([500, 500, 1500, 1500]);
    expect([...(o?.lane ?? [])]).toEqual([0, 1, 0, 1]);
    expect([...(o?.values[0] ?? [])]).toEqual([20, 10, 40, 30]);
  });

  it('keeps metric sets apart (an NVML tick and a GPM reading of the same GPU are two readings)', () => {
    const a = gpuBlock([0], [1000], [100], [5]);
    const b = { ...gpuBlock([0], [1000], [1000], [7]), ids: [2] };
    const out = rollUp([a, b], 1000);
    expect(out.map((o) => o.ids)).toEqual([[1], [2]]);
  });

  it('rolls 1 s readings into 10 s from their own min and max, and takes only the readings asked for', () => {
    const one = { ...gpuBlock([0, 0, 0], [1000, 2000, 11000], [1000, 1000, 1000], [10, 30, 99]), extremes: { min: [f([5, 25, 0])], max: [f([15, 60, 100])] } };
    const [o] = rollUp([one], 10000, (b) => countThrough(b.t, b.n, 10000));
    expect(o?.n).toBe(1);
    expect(o?.values[0]?.[0]).toBe(20);
    expect(o?.extremes.min[0]?.[0]).toBe(5);
    expect(o?.extremes.max[0]?.[0]).toBe(60);
    expect([...(o?.t ?? [])]).toEqual([2000]);
    expect([...(o?.dur ?? [])]).toEqual([2000]);
  });

  it('weighs readings without dur_ms alike and bounds them by the bucket start', () => {
    const [o] = rollUp([gpuBlock([0, 0], [1500, 1800], null, [1, 2])], 1000);
    expect(o?.values[0]?.[0]).toBe(1.5);
    expect([...(o?.dur ?? [])]).toEqual([800]);
  });

  it('splits a bucket at a stage mark, so neither stage takes the other one\'s readings', () => {
    const t = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000];
    const v = [0, 0, 0, 0, 100, 100, 100, 100, 100, 100];
    const out = rollUp([gpuBlock(t.map(() => 0), t, t.map(() => 100), v)], 1000, undefined, [400.5]);
    expect([...(out[0]?.t ?? [])]).toEqual([400, 1000]);
    expect([...(out[0]?.dur ?? [])]).toEqual([400, 600]);
    expect([...(out[0]?.values[0] ?? [])]).toEqual([0, 100]);
    // A mark outside the bucket splits nothing.
    expect(rollUp([gpuBlock(t.map(() => 0), t, t.map(() => 100), v)], 1000, undefined, [0, 1000])[0]?.n).toBe(1);
  });

  it('covers what its readings covered: a 1 Hz reading of 1 s covers its second, wherever the bucket starts', () => {
    const [o] = rollUp([gpuBlock([0, 0], [1260, 2260], [1000, 1000], [200, 600])], 1000);
    expect([...(o?.t ?? [])]).toEqual([1260, 2260]);
    expect([...(o?.dur ?? [])]).toEqual([1000, 1000]);
  });

  it('holds a state or setting by its last reading and a bitmask by the or of its readings, never a mean', () => {
    const t = [100, 200, 300];
    const b = { ...gpuBlock([0, 0, 0], t, [100, 100, 100], [0, 0, 8]), ids: [1, 2, 3], values: [f([0, 0, 8]), f([1, 4, 0]), f([10, 20, 30])] };
    const kinds = { 1: 'last', 2: 'or', 3: 'mean' } as const;
    const [o] = rollUp([b], 1000, undefined, undefined, (id) => kinds[id as 1 | 2 | 3]);
    expect(o?.values.map((v) => v[0])).toEqual([8, 5, 20]);
    expect(o?.extremes.max.map((v) => v[0])).toEqual([8, 4, 30]);
    expect(rollKind('pstate')).toBe('last');
    expect(rollKind('pcie_link_gen')).toBe('last');
    expect(rollKind('rank')).toBe('last');
    expect(rollKind('clock_event_reasons')).toBe('or');
    expect(rollKind('util_pct')).toBe('mean');
    expect(rollKind('a_workload_gauge')).toBe('mean');
    expect(orBits(2 ** 40, 1)).toBe(2 ** 40 + 1);
    expect(orBits(6, 3)).toBe(7);
  });

  it('covers an hour at most, as the block format allows: readings that each cover an hour make one that does', () => {
    const [o] = rollUp([gpuBlock([0, 0], [3_600_500, 3_601_000], [3_600_000, 3_600_000], [1, 2])], 1000);
    expect([...(o?.dur ?? [])]).toEqual([3_600_000]);
    if (!o) throw new Error('no roll-up');
    expect(() => decodeBlob(rollupBlob(o, o.n, new ByteWriter()), o.n, 'gpu')).not.toThrow();
  });

  it('rounds means to 3 decimals', () => {
    const [o] = rollUp([gpuBlock([0, 0, 0], [100, 200, 300], [100, 100, 100], [1, 1, 2])], 1000);
    expect(o?.values[0]?.[0]).toBe(1.333);
  });

  it('stores a roll-up block with its min and max columns, read back as written', () => {
    const [o] = rollUp([gpuBlock([0, 1, 0, 1], [100, 100, 1100, 1100], [100, 100, 100, 100], [1.5, 2.5, 3, 4])], 1000);
    if (!o) throw new Error('no roll-up');
    const back = decodeBlob(rollupBlob(o, o.n, new ByteWriter()), o.n, 'gpu');
    expect([...back.t]).toEqual([...o.t]);
    expect([...(back.dur ?? [])]).toEqual([...o.dur]);
    expect([...(back.lane ?? [])]).toEqual([...(o.lane ?? [])]);
    expect(back.values.map((v) => [...v])).toEqual(o.values.map((v) => [...v]));
    expect(back.extremes?.min.map((v) => [...v])).toEqual(o.extremes.min.map((v) => [...v]));
    expect(back.extremes?.max.map((v) => [...v])).toEqual(o.extremes.max.map((v) => [...v]));
  });
});

describe('where a pruning step ends', () => {
  it('is the cutoff, aligned down, where every old block fits in the step', () => {
    expect(stepEnd([1000, 5000, 12000], 4, 34_567, 10_000)).toBe(30_000);
  });

  it('is nothing where the oldest block is newer than the cutoff', () => {
    expect(stepEnd([35_000], 4, 34_567, 10_000)).toBeNull();
    expect(stepEnd([], 4, 34_567, 10_000)).toBeNull();
  });

  it('stops before the first block left for a later step', () => {
    // Limit 2: the third block (at 25,000) waits; the step ends at 20,000.
    expect(stepEnd([1000, 5000, 25_000], 2, 100_000, 10_000)).toBe(20_000);
  });

  it('takes at least one aligned span, however many blocks start in it', () => {
    expect(stepEnd([1000, 2000, 3000, 4000], 2, 100_000, 10_000)).toBe(10_000);
  });
});
