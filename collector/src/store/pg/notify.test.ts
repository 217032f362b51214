import { describe, expect, it } from 'vitest';
import { notices, toRanges } from './notify.js';

describe('the notices a commit sends other collectors', () => {
  it('ids as ranges: consecutive ids in one, in order whatever order they came in', () => {
    expect(toRanges([5, 3, 4, 9, 11, 10, 1])).toEqual([[1, 1], [3, 5], [9, 11]]);
    expect(toRanges([])).toEqual([]);
  });

  it('one notice per host while it fits; cut below PostgreSQL\'s 8000-byte payload limit, every id in exactly one notice', () => {
    expect(notices('me', new Map([['h1', { bids: [1, 2, 3], mids: [7] }], ['h2', { bids: [4], mids: [] }]])).map((n) => JSON.parse(n))).toEqual([
      { c: 'me', h: 'h1', b: [[1, 3]], m: [[7, 7]] },
      { c: 'me', h: 'h2', b: [[4, 4]], m: [] },
    ]);
    // Every other id: no two consecutive, so each is a range of its own.
    const bids = Array.from({ length: 3000 }, (_, i) => 1_000_000_000 + 2 * i);
    const mids = Array.from({ length: 500 }, (_, i) => 5_000_000 + 2 * i);
    const out = notices('collector-1', new Map([['gpu-node-7', { bids, mids }]]));
    expect(out.length).toBeGreaterThan(1);
    for (const n of out) expect(Buffer.byteLength(n)).toBeLessThan(8000);
    const parsed = out.map((n) => JSON.parse(n) as { c: string; h: string; b: Array<[number, number]>; m: Array<[number, number]> });
    expect(new Set(parsed.map((p) => `${p.c}/${p.h}`))).toEqual(new Set(['collector-1/gpu-node-7']));
    const expand = (rs: Array<[number, number]>): number[] => rs.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
    expect(parsed.flatMap((p) => expand(p.b))).toEqual(bids);
    expect(parsed.flatMap((p) => expand(p.m))).toEqual(mids);
  });
});
