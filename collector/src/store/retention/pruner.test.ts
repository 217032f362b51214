import { describe, expect, it, vi } from 'vitest';
import { AGENT, batchOf, fakeTimersWithCleanups, openStore, scratchDir, storeWithBatches, T } from '../../../../test/helpers/retention-store.js';
import type { SqliteStore } from '../sqlite.js';
import { Pruner, type PrunerOptions, type RetentionPolicy } from './pruner.js';

const cleanups = fakeTimersWithCleanups();

function fixture(batches: number): { store: SqliteStore; hid: number; dir: string } {
  const { dir, remove } = scratchDir();
  const s = storeWithBatches(dir, batches);
  cleanups.push(() => {
    s.store.close();
    remove();
  });
  return { ...s, dir };
}

/** Runs a pruner pass to its end on the fake clock; returns it (closed). */
function prune(store: SqliteStore, policy: RetentionPolicy, opts: PrunerOptions): Pruner {
  let idle = false;
  const p = new Pruner(store.retentionTarget(), policy, { ...opts, onIdle: () => (idle = true) });
  p.start();
  for (let i = 0; i < 10_000 && !idle; i++) vi.advanceTimersByTime(1);
  expect(idle).toBe(true);
  p.close();
  return p;
}

describe('the pruner', () => {
  it('rolls raw readings older than --retain-raw into 1 s readings and keeps the newer ones raw', () => {
    // 120 s of 2 GPUs and the host at 10 Hz; raw kept 60 s at T + 120 s: the first minute goes to 1 s.
    const { store, hid } = fixture(240);
    const numbered = store.sinkSource().maxRowids().samples;
    prune(store, { rawMs: 60_000, oneSecondMs: 0, tenSecondMs: 0 }, { now: () => T + 120_000, stepBlocks: 16 });
    const all = [...store.samples('run')];
    const old = all.filter((s) => s.t <= T + 60_000);
    const recent = all.filter((s) => s.t > T + 60_000);
    expect(old.length).toBe(60 * 3);
    expect(recent.length).toBe(60 * 10 * 3);
    expect(old.every((s) => s.dur_ms === 1000 && s.t % 1000 === 0)).toBe(true);
    expect(new Set(old.filter((s) => s.source === 'gpu').map((s) => s.m.util_pct))).toEqual(new Set([45]));
    expect(new Set(old.filter((s) => s.source === 'gpu' && s.gpu === 1).map((s) => s.m.power_w))).toEqual(new Set([101]));
    expect(new Set(old.filter((s) => s.source === 'host').map((s) => s.m.cpu_pct))).toEqual(new Set([4.5]));
    // In time order, raw after roll-ups, every raw reading as it was.
    expect(all.map((s) => s.t)).toEqual([...all.map((s) => s.t)].sort((a, b) => a - b));
    expect(recent.filter((s) => s.source === 'gpu').map((s) => s.dur_ms)).toEqual(recent.filter((s) => s.source === 'gpu').map(() => 100));
    // Exactly-once: every batch is still known, a resent one is recognised; numbering goes on.
    expect(store.storedBatches(AGENT).length).toBe(240);
    expect(store.writeBatches([batchOf(hid, 7)], T).duplicate).toEqual([true]);
    expect(store.sinkSource().maxRowids().samples).toBe(numbered);
    expect(store.marks('run').length).toBe(1);
  });

  it('rolls 1 s into 10 s after --retain-1s and deletes 10 s after --retain-10s; numbers are never given out again', () => {
    const { store, hid, dir } = fixture(240);
    const numbered = store.sinkSource().maxRowids().samples;
    // 1 s for readings up to T + 90 s, 10 s up to T + 60 s, none up to T + 30 s.
    prune(store, { rawMs: 30_000, oneSecondMs: 60_000, tenSecondMs: 90_000 }, { now: () => T + 120_000, stepBlocks: 16 });
    const all = [...store.samples('run')];
    const gpu0 = (lo: number, hi: number) => all.filter((s) => s.source === 'gpu' && s.gpu === 0 && s.t > T + lo && s.t <= T + hi);
    expect(gpu0(0, 30_000)).toEqual([]);
    expect(gpu0(30_000, 60_000).map((s) => [s.t - T, s.dur_ms, s.m.util_pct])).toEqual([40_000, 50_000, 60_000].map((t) => [t, 10_000, 45]));
    expect(gpu0(60_000, 90_000).length).toBe(30);
    expect(gpu0(60_000, 90_000).every((s) => s.dur_ms === 1000)).toBe(true);
    expect(gpu0(90_000, 120_000).length).toBe(300);
    expect(store.storedBatches(AGENT).length).toBe(240);
    // Everything pruned: the next reading is numbered after the last one given, also after a restart.
    prune(store, { rawMs: 1, oneSecondMs: 1, tenSecondMs: 1 }, { now: () => T + 1_000_000 });
    expect([...store.samples('run')]).toEqual([]);
    expect(store.sinkSource().maxRowids().samples).toBe(numbered);
    store.close();
    const again = openStore(dir).store;
    again.writeBatches([batchOf(hid, 241)], T);
    const next = again.sinkSource().samplesAfter(numbered, 100);
    expect(next.map((s) => s.rowid)).toEqual(Array.from({ length: 15 }, (_, i) => numbered + 1 + i));
    again.close();
  });

  it('keeps raw readings a sink has not taken yet, however old', () => {
    const { store } = fixture(240);
    const sink = store.sinkSource();
    // The sink took the first 100 batches (1500 readings).
    sink.setCursor('influx.cursor.samples', 1500);
    prune(store, { rawMs: 1000, oneSecondMs: 0, tenSecondMs: 0 }, { now: () => T + 1_000_000, exportedThrough: () => sink.cursor('influx.cursor.samples') });
    const after = sink.samplesAfter(1500, 10_000);
    expect(after.length).toBe(140 * 15);
    expect(after.every((s) => s.dur_ms === 100)).toBe(true);
    // What it took is rolled up: the first 50 s (up to the last whole second before batch 101's readings).
    const rolled = [...store.samples('run')].filter((s) => s.dur_ms === 1000);
    expect(rolled.length).toBe(50 * 3);
    expect(Math.max(...rolled.map((s) => s.t))).toBe(T + 50_000);
  });

  it('without a sink holding them (one removed from the config), pruned raw readings are gone for its cursor: it reads on from the next one left', () => {
    const { store } = fixture(40);
    const sink = store.sinkSource();
    const before = sink.maxRowids().samples;
    // Raw kept 10 s at T + 20 s: readings up to T + 10 s (batches 1..20, numbers 1..300) are rolled up.
    prune(store, { rawMs: 10_000, oneSecondMs: 0, tenSecondMs: 0 }, { now: () => T + 20_000 });
    const next = sink.samplesAfter(0, 5);
    expect(next.map((s) => s.rowid)).toEqual([301, 302, 303, 304, 305]);
    expect(next.every((s) => s.dur_ms === 100)).toBe(true);
    // The backlog it sees is still counted in numbers given: the 300 pruned ones count as behind it.
    expect(sink.maxRowids().samples).toBe(before);
  });

  it('leaves the store alone with every retention 0 (keep for good)', () => {
    const { store } = fixture(20);
    const before = [...store.samples('run')];
    const p = new Pruner(store.retentionTarget(), { rawMs: 0, oneSecondMs: 0, tenSecondMs: 0 }, { now: () => T + 1e9 });
    p.start();
    // Nothing to prune ever: not even a timer.
    expect(vi.getTimerCount()).toBe(0);
    p.close();
    expect([...store.samples('run')]).toEqual(before);
  });
});
