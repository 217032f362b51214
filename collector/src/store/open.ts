import { lockDataDir } from './data-lock.js';
import { SqliteEngine, type StoreEngine } from './engine.js';
import { PgEngine } from './pg/engine.js';
import { SqliteStore } from './sqlite.js';

export interface OpenedEngine {
  engine: StoreEngine;
  /** The SQLite store where that is the engine (tests and in-process callers read it directly). */
  sqlite: SqliteStore | null;
  /** The PostgreSQL engine where that is the engine (its retention passes: PgEngine.retentionSession). */
  postgres: PgEngine | null;
  /** Lets go of what opening took besides the engine (the data directory's lock). */
  release(): void;
}

/**
 * The collector's store: DIR's SQLite file, locked to this collector, or (pgUrl) a PostgreSQL
 * database that several collectors share, so no lock on a directory.
 */
export async function openEngine(dataDir: string, pgUrl: string | undefined, log: (msg: string) => void): Promise<OpenedEngine> {
  if (pgUrl !== undefined) {
    const postgres = await PgEngine.open(pgUrl, log);
    return { engine: postgres, sqlite: null, postgres, release: () => undefined };
  }
  const lock = lockDataDir(dataDir);
  try {
    const sqlite = new SqliteStore(dataDir);
    return { engine: new SqliteEngine(sqlite), sqlite, postgres: null, release: () => lock.release() };
  } catch (e) {
    lock.release();
    throw e;
  }
}
