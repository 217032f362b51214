import { describe, expect, it, vi } from 'vitest';
import { AGENT, batchOf, fakeTimersWithCleanups, scratchDir, storeWithBatches, T } from '../../../../test/helpers/retention-store.js';
import { Ingestor, type IngestOutcome } from '../../ingest.js';
import { CollectorTelemetry } from '../../telemetry.js';
import { SqliteEngine } from '../engine.js';
import { Pruner } from './pruner.js';

const cleanups = fakeTimersWithCleanups();

describe('pruning never stalls ingest', () => {
  it("commits batches that arrive while a backlog is pruned between the pruner's steps, within ingest's own delay", async () => {
    const { dir, remove } = scratchDir();
    // 200 s of readings (4 blocks a second), all older than raw is kept: steps of a second or two each.
    const { store, hid } = storeWithBatches(dir, 400);
    cleanups.push(() => {
      store.close();
      remove();
    });
    const log: string[] = [];
    let idle = false;
    const pruner = new Pruner(store.retentionTarget(), { rawMs: 10_000, oneSecondMs: 0, tenSecondMs: 0 }, {
      now: () => T + 1_000_000,
      stepBlocks: 4,
      onStep: () => log.push('prune'),
      onIdle: () => (idle = true),
    });
    const delays = { maxDelayMs: 10, maxSamples: 20_000, commitSamples: 5_000 };
    // Ingest writes through the engine interface the server gives it (engine.ts), promises and all.
    const ingest = new Ingestor(new SqliteEngine(store), new CollectorTelemetry(), () => {}, delays);
    ingest.onCommit.push(() => log.push('ingest'));
    pruner.start();
    await vi.advanceTimersByTimeAsync(3);
    // A step per timer turn (0, 1, 2 and 3 ms): the pass is under way.
    expect(log).toEqual(['prune', 'prune', 'prune', 'prune']);
    expect(pruner.busy).toBe(true);
    // Two agents' batches arrive mid-pass.
    const acked: Array<{ at: number; o: IngestOutcome }> = [];
    const sent = Date.now();
    for (const seq of [401, 402]) ingest.submit(batchOf(hid, seq), (o) => acked.push({ at: Date.now(), o }));
    for (let i = 0; i < 10_000 && !idle; i++) await vi.advanceTimersByTimeAsync(1);
    expect(idle).toBe(true);
    const at = log.indexOf('ingest');
    expect(log.filter((e) => e === 'ingest')).toEqual(['ingest']);
    // Committed between two steps of the pass, not after it.
    expect(log.slice(at + 1).filter((e) => e === 'prune').length).toBeGreaterThan(5);
    expect(acked.map((a) => a.o)).toEqual([{ ok: true, duplicate: false }, { ok: true, duplicate: false }]);
    // As soon as ingest's own group-commit delay allowed: the steps between did not hold it.
    expect(Math.max(...acked.map((a) => a.at - sent))).toBeLessThanOrEqual(delays.maxDelayMs);
    expect(store.storedBatches(AGENT).length).toBe(402);
    pruner.close();
  });
});
