import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { StageReport } from '../../collector/src/analysis/report.js';
import { makeReport } from '../../collector/src/report/index.js';
import { SqliteStore } from '../../collector/src/store/sqlite.js';

/** The stages of run `runId` in a captured store (store.sqlite.gz), reported from a temporary copy that is removed afterwards. */
export function stagesOfCapture(fixture: string, runId: string): StageReport[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-capture-'));
  try {
    writeFileSync(path.join(dir, 'stagewatch.sqlite'), gunzipSync(readFileSync(fixture)));
    const store = new SqliteStore(dir);
    try {
      return makeReport(store, runId).hosts.flatMap((h) => h.stages);
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
