import { NotFoundError } from '@stagewatch/shared';
import { PgEngine } from './pg/engine.js';
import { SqliteStore } from './sqlite.js';

/**
 * The store a reading command (report, compare, export) reads: DIR's SQLite file, which must
 * exist, or (pgUrl) the named runs copied out of a PostgreSQL store into memory. A run the
 * database does not hold is an error naming the runs it does, as the report says on SQLite.
 */
export async function openReadStore(dataDir: string, pgUrl: string | undefined, runIds: readonly string[]): Promise<SqliteStore> {
  if (pgUrl === undefined) return new SqliteStore(dataDir, { mustExist: true });
  const engine = await PgEngine.open(pgUrl, () => undefined, { poolSize: 1, reader: true });
  try {
    for (const id of runIds) {
      if (await engine.run(id)) continue;
      const runs = (await engine.listRuns()).map((r) => r.id);
      const some = runs.slice(0, 8).join(', ') + (runs.length > 8 ? `, … (${runs.length} in all)` : '');
      throw new NotFoundError(`no run ${JSON.stringify(id)} in the store ${engine.where}${runs.length ? `; runs there: ${some}` : '; it holds no runs'}`);
    }
    return await engine.copyRuns(runIds);
  } finally {
    await engine.close();
  }
}
