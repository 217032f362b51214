import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { VERSION } from '@stagewatch/shared';
import { exportConfig } from '../config/config.js';
import { exportLines } from '../portable/export.js';
import { openReadStore } from '../store/read-store.js';

/** `export <runId> [--data DIR] [--out FILE]`: one stored run as a run file that `import` restores. */
export async function exportCommand(argv: string[]): Promise<number> {
  const { runId, dataDir, out, pgUrl } = exportConfig(argv);
  const store = await openReadStore(dataDir, pgUrl, [runId]);
  // Written beside the target and renamed when whole: a failed export leaves no half file.
  const tmp = `${out}.partial`;
  let lines = 0;
  try {
    const gzip = createGzip();
    const file = createWriteStream(tmp, { flags: 'wx' });
    gzip.pipe(file);
    const failed = Promise.race([once(gzip, 'error'), once(file, 'error')]).then(([e]) => Promise.reject(e as Error));
    failed.catch(() => {});
    for (const line of exportLines(store, runId, `stagewatch-collector ${VERSION}`, Date.now())) {
      lines++;
      if (!gzip.write(line.endsWith('\n') ? line : `${line}\n`)) await Promise.race([once(gzip, 'drain'), failed]);
    }
    gzip.end();
    await Promise.race([once(file, 'close'), failed]);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    store.close();
  }
  process.stderr.write(`stagewatch-collector export: run ${runId} from ${store.file}: ${lines} lines written to ${out}\n`);
  return 0;
}
