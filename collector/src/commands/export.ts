import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { parseFlags, RUN_FILE_SUFFIX, UsageError, VERSION } from '@stagewatch/shared';
import { exportLines } from '../portable/export.js';
import { SqliteStore } from '../store/sqlite.js';

export const EXPORT_FLAGS = { data: { type: 'string' }, out: { type: 'string' } } as const;

/** `export <runId> [--data DIR] [--out FILE]`: one stored run as a run file that `import` restores. */
export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, EXPORT_FLAGS, true);
  if (positionals.length !== 1) throw new UsageError(`give exactly one run id (got ${positionals.length})`);
  const runId = positionals[0] as string;
  const out = (values.out as string | undefined) ?? `${runId.replace(/[^A-Za-z0-9._-]/g, '_')}${RUN_FILE_SUFFIX}`;
  if (existsSync(out)) throw new UsageError(`--out ${out}: exists already; give a new file name`);
  const store = new SqliteStore((values.data as string | undefined) ?? './stagewatch-data', { mustExist: true });
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
