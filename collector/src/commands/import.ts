import { mkdirSync } from 'node:fs';
import { importConfig } from '../config/config.js';
import { importRunFile, type ImportResult } from '../portable/import.js';
import { importRunFilePg } from '../portable/import-pg.js';
import { lockDataDir } from '../store/data-lock.js';
import { PgEngine } from '../store/pg/engine.js';
import { SqliteStore } from '../store/sqlite.js';

/**
 * `import FILE... [--data DIR | --store postgres://...] [--partial]`: stores run files (agent
 * `--out`, or `export`) as if they had been streamed. Into DIR it holds the data directory's lock
 * meanwhile: a running collector keeps parts of the store in memory, so the two must not write at
 * once. PostgreSQL has no such lock: collectors may run on the database meanwhile, and exactly
 * once by (agent, seq) holds between them and the import as between collectors.
 */
export async function importCommand(argv: string[]): Promise<number> {
  const { files, dataDir, partial, pgUrl } = importConfig(argv);
  if (pgUrl !== undefined) return importPg(files, pgUrl, partial);
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  const store = new SqliteStore(dataDir);
  try {
    return await eachFile(files, async (file) => importSummary(importRunFile(store, file, { partial, now: Date.now() }), store.file));
  } finally {
    store.close();
    lock.release();
  }
}

async function importPg(files: readonly string[], url: string, partial: boolean): Promise<number> {
  // Two connections: the import's transaction, and new metric names' ids (committed apart, as a collector does).
  const engine = await PgEngine.open(url, (msg) => process.stderr.write(`stagewatch-collector import: ${msg}\n`), { poolSize: 2 });
  try {
    return await eachFile(files, async (file) => importSummary(await importRunFilePg(engine, file, { partial, now: Date.now() }), engine.where));
  } finally {
    await engine.close();
  }
}

/** Each file imported and its summary printed; 1 where one of several failed (a single file's error is thrown). */
async function eachFile(files: readonly string[], one: (file: string) => Promise<string>): Promise<number> {
  let failed = 0;
  for (const file of files) {
    try {
      process.stderr.write(`${await one(file)}\n`);
    } catch (e) {
      // Each file is its own transaction: one refused leaves the others as they went.
      if (files.length === 1) throw e;
      failed++;
      process.stderr.write(`stagewatch-collector import: ${(e as Error).message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

/** What an import did, in words: stored, already there, and with --partial exactly what was kept. */
export function importSummary(r: ImportResult, storeFile: string): string {
  const lines: string[] = [];
  if (r.cut) {
    const kept = r.agents.map((a) => `batches ${a.seqs || '(none)'} of agent ${a.agentId} (host ${a.host})`).join('; ');
    lines.push(`${r.file}: cut short (${r.cut.reason}): kept lines 1-${r.cut.lastWholeLine}, ${kept || 'no batches'}; dropped the ${r.cut.droppedBytes} bytes of line ${r.cut.lastWholeLine + 1}, cut through`);
  }
  if (r.stored.length === 0) {
    lines.push(`${r.file}: nothing new: ${r.batches === 0 ? 'it holds no batches' : `${r.batches === 1 ? 'its batch is' : `all ${r.batches} batches are`} in ${storeFile} already`}`);
  } else {
    for (const s of r.stored) lines.push(`${r.file}: run ${s.runId} (${s.hosts.join(', ')}): stored ${n(s.batches, 'batch', 'batches')}, ${n(s.samples, 'sample')}, ${n(s.marks, 'mark')} in ${storeFile}`);
    if (r.duplicates > 0) lines.push(`${r.file}: ${r.duplicates} of its ${r.batches} batches were stored already and were skipped`);
  }
  return lines.join('\n');
}

const n = (k: number, one: string, many = `${one}s`): string => `${k} ${k === 1 ? one : many}`;
