import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StagewatchError } from '@stagewatch/shared';

export const LOCK_FILE = 'collector.lock';
export const HOLDER_FILE = 'collector.pid';

export interface DataLock {
  readonly dir: string;
  release(): void;
}

/**
 * One collector per data directory. The lock is an OS-level one: an exclusive SQLite lock (POSIX
 * fcntl) on DIR/collector.lock, held by an open connection for the collector's life. The kernel
 * drops it when the process dies however it dies (SIGKILL, OOM), so a stale lock cannot block
 * the next start, and no pid has to be guessed alive or dead (a pid-file check can be fooled by a
 * reused pid or a different PID namespace). better-sqlite3 is already here, and Node has no
 * flock of its own. The holder's pid goes into DIR/collector.pid only to name it in the refusal.
 */
export function lockDataDir(dir: string): DataLock {
  const file = path.join(dir, LOCK_FILE);
  let db: Database.Database | null = null;
  try {
    // No busy wait: a held lock is refused at once.
    db = new Database(file, { timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY');
    db.exec('CREATE TABLE IF NOT EXISTS holder(pid INTEGER)');
    // A write takes the EXCLUSIVE lock; in this locking mode it is kept until the connection closes.
    db.exec('BEGIN EXCLUSIVE; DELETE FROM holder; COMMIT');
  } catch (e) {
    db?.close();
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new StagewatchError('locked', `data directory ${dir} is in use by another collector (${holderOf(dir)}); stop it or give another --data`);
    }
    throw new StagewatchError('store-open', `cannot lock the data directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  writeFileSync(path.join(dir, HOLDER_FILE), `${JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() })}\n`);
  let held = true;
  const conn = db;
  return {
    dir,
    release() {
      if (!held) return;
      held = false;
      rmSync(path.join(dir, HOLDER_FILE), { force: true });
      conn.close();
    },
  };
}

/** "pid 123 on host x since ..." from the holder file, or what is known without it. */
function holderOf(dir: string): string {
  try {
    const h = JSON.parse(readFileSync(path.join(dir, HOLDER_FILE), 'utf8')) as { pid?: number; host?: string; since?: string };
    return `pid ${h.pid ?? '?'} on ${h.host ?? '?'} since ${h.since ?? '?'}`;
  } catch {
    return `the holder's pid is not recorded in ${path.join(dir, HOLDER_FILE)}`;
  }
}
