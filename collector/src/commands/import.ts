import { mkdirSync } from 'node:fs';
import { importConfig } from '../config/config.js';
import { importRunFile, type ImportResult } from '../portable/import.js';
import { lockDataDir } from '../store/data-lock.js';
import { SqliteStore } from '../store/sqlite.js';

/**
 * `import FILE... [--data DIR] [--partial]`: stores run files (agent `--out`, or `export`) as if
 * they had been streamed. Holds the data directory's lock meanwhile: a running collector keeps
 * parts of the store in memory, so the two must not write at once.
 */
export async function importCommand(argv: string[]): Promise<number> {
  const { files, dataDir, partial } = importConfig(argv);
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  const store = new SqliteStore(dataDir);
  let failed = 0;
  try {
    for (const file of files) {
      try {
        const r = importRunFile(store, file, { partial, now: Date.now() });
        process.stderr.write(`${importSummary(r, store.file)}\n`);
      } catch (e) {
        // Each file is its own transaction: one refused leaves the others as they went.
        if (files.length === 1) throw e;
        failed++;
        process.stderr.write(`stagewatch-collector import: ${(e as Error).message}\n`);
      }
    }
  } finally {
    store.close();
    lock.release();
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
