import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Sample } from '@stagewatch/shared';
import { afterEach, beforeEach, vi } from 'vitest';
import { pendingBatch, SqliteStore, type PendingBatch } from '../../collector/src/store/sqlite.js';

/** A time on a 10 s boundary, as collector clocks go: the tests' epoch. */
export const T = 1_700_000_000_000;
export const HOST = 'h1';
export const AGENT = 'a1';

/**
 * Fake timers for each test of the calling file, and a list of clean-ups run after each (stores
 * closed, directories removed) once real timers are back.
 */
export function fakeTimersWithCleanups(): Array<() => void> {
  const cleanups: Array<() => void> = [];
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    for (const c of cleanups.splice(0)) c();
  });
  return cleanups;
}

/** A temporary data directory, removed by the returned function. */
export function scratchDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-retention-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openStore(dir: string): { store: SqliteStore; hid: number } {
  const store = new SqliteStore(dir);
  const reg = store.registerAgent({ type: 'hello', protocol: 1, agentId: AGENT, host: HOST, runId: 'run', gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 't' }, T);
  return { store, hid: reg.hid };
}

/**
 * Batch `seq` (1-based): the half second (T + (seq-1)*500, T + seq*500] of 2 GPUs and the host at
 * 10 Hz, each reading covering its 100 ms. util_pct runs 0, 10, ..., 90 through each second (a 1 s
 * mean of 45); the host's cpu_pct is the reading's index within its second.
 */
export function batchOf(hid: number, seq: number): PendingBatch {
  const samples: Sample[] = [];
  for (let k = 1; k <= 5; k++) {
    const t = T + (seq - 1) * 500 + k * 100;
    const inSecond = ((t - T) / 100 - 1) % 10;
    for (const gpu of [0, 1]) samples.push({ t, host: HOST, source: 'gpu', gpu, dur_ms: 100, m: { util_pct: inSecond * 10, power_w: 100 + gpu } });
    samples.push({ t, host: HOST, source: 'host', dur_ms: 100, m: { cpu_pct: inSecond } });
  }
  return pendingBatch(AGENT, hid, HOST, {
    type: 'batch', seq, runId: 'run', samples, health: [], marks: seq === 1 ? [{ t: T, kind: 'begin', stage: 'all', source: 'http' }] : [], clock: null,
    loss: { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 },
  });
}

/** A store holding batches 1..count (count/2 seconds from T), one batch per transaction. */
export function storeWithBatches(dir: string, count: number): { store: SqliteStore; hid: number } {
  const s = openStore(dir);
  for (let seq = 1; seq <= count; seq++) s.store.writeBatches([batchOf(s.hid, seq)], T);
  return s;
}
