import { SqliteStore } from '../../collector/src/store/sqlite.js';

/**
 * What a run is in a store, everything an import must reproduce: the run (times, end, labels,
 * hosts), samples and marks in stored order, fingerprints (host, kind, body; not when they were
 * stored) and GPUs. Opens the store and closes it again.
 */
export function storeContent(dataDir: string, runId: string) {
  const store = new SqliteStore(dataDir);
  try {
    return {
      run: store.run(runId),
      samples: [...store.samples(runId)],
      marks: store.marks(runId),
      fingerprints: store.fingerprintRows(runId),
      gpus: store.gpus(runId),
    };
  } finally {
    store.close();
  }
}

/**
 * storeContent with samples in one canonical order. An export re-batches a run's samples, and
 * the store orders samples of one time by the batch and block they came in (column blocks), so
 * samples stamped alike may come back in another order: the same samples, not the same order.
 */
export function storeContentCanonical(dataDir: string, runId: string) {
  const c = storeContent(dataDir, runId);
  const key = (x: unknown): string => JSON.stringify(x);
  return { ...c, samples: c.samples.map((x) => [key(x), x] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, x]) => x) };
}
