import { describe, expect, it, vi } from 'vitest';
import { batchOf, fakeTimersWithCleanups, scratchDir, storeWithBatches, T } from '../../../../test/helpers/retention-store.js';
import type { SqliteStore } from '../sqlite.js';
import { Pruner, type RetentionPolicy } from './pruner.js';

const cleanups = fakeTimersWithCleanups();

function pass(store: SqliteStore, policy: RetentionPolicy, now: number, stepBlocks: number): void {
  let idle = false;
  const p = new Pruner(store.retentionTarget(), policy, { now: () => now, stepBlocks, onIdle: () => (idle = true) });
  p.start();
  for (let i = 0; i < 10_000 && !idle; i++) vi.advanceTimersByTime(1);
  p.close();
  expect(idle).toBe(true);
}

/** Per series and metric: the readings' values times the time they cover, and the time covered. */
function totals(store: SqliteStore): Map<string, { vw: number; w: number }> {
  const out = new Map<string, { vw: number; w: number }>();
  for (const s of store.samples('run')) {
    for (const [k, v] of Object.entries(s.m)) {
      const key = `${s.source}/${s.gpu ?? ''}/${k}`;
      const acc = out.get(key) ?? { vw: 0, w: 0 };
      acc.vw += v * (s.dur_ms as number);
      acc.w += s.dur_ms as number;
      out.set(key, acc);
    }
  }
  return out;
}

/** A deterministic shuffle (a linear congruential generator): batches arrive out of order, as spooled ones do. */
function shuffled(n: number, seed: number): number[] {
  const xs = Array.from({ length: n }, (_, i) => i + 1);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [xs[i], xs[j]] = [xs[j] as number, xs[i] as number];
  }
  return xs;
}

describe('roll-ups lose and double nothing', () => {
  it('keeps every series\' value x time and time covered through steps of any size, batches arriving after their time was rolled up, and both levels', () => {
    const { dir, remove } = scratchDir();
    // Batches 1..300 (150 s) arrive out of order, but for 101..110 (T + 50 s .. 55 s), held in a
    // spool until after the first pass rolled their time up; 301..400 arrive after it too.
    const { store, hid } = storeWithBatches(dir, 0);
    cleanups.push(() => {
      store.close();
      remove();
    });
    const held = (seq: number): boolean => seq > 300 || (seq > 100 && seq <= 110);
    const order = shuffled(400, 7);
    for (const seq of order.filter((x) => !held(x))) store.writeBatches([batchOf(hid, seq)], T);
    const raw = totals(store);
    pass(store, { rawMs: 60_000, oneSecondMs: 0, tenSecondMs: 0 }, T + 150_000, 3);
    for (const seq of order.filter(held)) store.writeBatches([batchOf(hid, seq)], T);
    const expected = totals(store);
    for (const [k, v] of raw) expect(expected.get(k)?.w, k).toBeGreaterThan(v.w);
    pass(store, { rawMs: 30_000, oneSecondMs: 60_000, tenSecondMs: 0 }, T + 200_000, 5);
    const got = totals(store);
    const resolutions = new Set([...store.samples('run')].map((s) => s.dur_ms));
    expect(resolutions).toEqual(new Set([100, 1000, 10_000]));
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, e] of expected) {
      const g = got.get(k) as { vw: number; w: number };
      expect(g.w, `${k}: time covered`).toBe(e.w);
      // Means are rounded to 3 decimals: 0.0005 x the time covered at most.
      expect(Math.abs(g.vw - e.vw), `${k}: value x time`).toBeLessThanOrEqual(0.0005 * e.w);
    }
  });
});
