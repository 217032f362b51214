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
