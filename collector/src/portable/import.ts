import { readFileSync } from 'node:fs';
import { NotFoundError, RunFileError, type Batch } from '@stagewatch/shared';
import type { SqliteStore } from '../store/sqlite.js';
import { pendingBatch } from '../store/rows.js';
import { runFileEntries, splitRunFile, type RunFileCut, type RunFileText } from './read.js';

/** What one import stored in one run. */
export interface ImportedRun {
  runId: string;
  hosts: string[];
  batches: number;
  samples: number;
  marks: number;
}

export interface ImportResult {
  file: string;
  origin: 'agent' | 'export';
  /** Batches the file holds (the part before a cut, with `partial`). */
  batches: number;
  /** Batches the store had already (the same (agent, seq)): not stored again. */
  duplicates: number;
  stored: ImportedRun[];
  /** Each agent of the file: its host and the seqs of its batches in the file, as ranges. */
  agents: Array<{ agentId: string; host: string; seqs: string }>;
  /** Set when the file was cut short and only the whole lines before the cut were read. */
  cut: RunFileCut | null;
}

/** `1-55, 57, 60-61`: sorted seqs as ranges. */
export function seqRanges(seqs: readonly number[]): string {
  const s = [...new Set(seqs)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && (s[j + 1] as number) === (s[j] as number) + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** A run file read and checked line by line, nothing written yet. */
export interface CheckedFile {
  text: RunFileText;
  result: ImportResult;
  /** Each agent of the file: its host and the seqs of its batches. */
  seqs: Map<string, { host: string; seqs: number[] }>;
}

/**
 * First pass of an import, the same for every engine: the file read and every line decoded and
 * checked, nothing written. A file cut short is refused unless `partial`, which keeps its whole
 * lines before the cut.
 */
export function checkRunFile(file: string, opts: { partial: boolean; now: number }): CheckedFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new NotFoundError(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const text = splitRunFile(file, bytes);
  const { cut } = text;
  if (cut && !opts.partial) {
    throw new RunFileError(`${file}: cut short after line ${cut.lastWholeLine} (${cut.reason}); nothing imported. --partial imports the ${cut.lastWholeLine} whole lines before the cut`);
  }
  const seqs = new Map<string, { host: string; seqs: number[] }>();
  let batches = 0;
  for (const e of runFileEntries(text, opts.now)) {
    if ('hello' in e) {
      if (!seqs.has(e.hello.agentId)) seqs.set(e.hello.agentId, { host: e.hello.host, seqs: [] });
    } else {
      seqs.get(e.of.agentId)?.seqs.push(e.batch.seq);
      batches++;
    }
  }
  const agents = [...seqs].map(([agentId, a]) => ({ agentId, host: a.host, seqs: seqRanges(a.seqs) }));
  return { text, seqs, result: { file, origin: text.header.origin, batches, duplicates: batches, stored: [], agents, cut } };
}

/**
 * Per agent, the seqs of the file the store lacks (agents with none are left out), and whether
 * the store held some of the file's batches already.
 */
export function freshSeqs(f: CheckedFile, storedOf: (agentId: string) => ReadonlySet<number>): { fresh: Map<string, Set<number>>; someStored: boolean } {
  const fresh = new Map<string, Set<number>>();
  let someStored = false;
  for (const [agentId, a] of f.seqs) {
    const stored = storedOf(agentId);
    const left = a.seqs.filter((s) => !stored.has(s));
    if (left.length > 0) fresh.set(agentId, new Set(left));
    someStored ||= left.length < a.seqs.length;
  }
  return { fresh, someStored };
}

/**
 * An export names its agents anew (export.ts): its batches cannot be told from the run's own, so
 * an export of a run the store has, none of whose batches are stored, is refused.
 */
export function refuseExportInto(f: CheckedFile, someStored: boolean, runStored: boolean, where: string): void {
  const runId = f.text.header.runId;
  if (f.text.header.origin === 'export' && runId !== null && !someStored && runStored) {
    throw new RunFileError(`${f.result.file}: run ${runId} is in ${where} already; this export of it would store its data a second time. Import it into another --data directory (or another --store)`);
  }
}

/** What an import stored, run by run, as the store reports batch by batch. */
export class ImportTally {
  private readonly byRun = new Map<string, ImportedRun & { hostSet: Set<string> }>();
  private written = 0;

  stored(host: string, batch: Batch): void {
    this.written++;
    const id = batch.runId ?? `timeline:${host}`;
    const r = this.byRun.get(id) ?? { runId: id, hosts: [], hostSet: new Set<string>(), batches: 0, samples: 0, marks: 0 };
    this.byRun.set(id, r);
    r.hostSet.add(host);
    r.batches++;
    r.samples += batch.samples.length;
    r.marks += batch.marks.length;
  }

  finish(result: ImportResult): ImportResult {
    result.duplicates = result.batches - this.written;
    result.stored = [...this.byRun.values()].map(({ hostSet, ...r }) => ({ ...r, hosts: [...hostSet].sort() }));
    return result;
  }
}

/**
 * Imports a run file into the SQLite store, the way a stream arrives: each hello registers its
 * agent, each batch goes through writeBatches, which stores an (agent, seq) once. Every line is
 * checked before anything is written, and the writes are one transaction: a bad file stores
 * nothing. For PostgreSQL see import-pg.ts.
 */
export function importRunFile(store: SqliteStore, file: string, opts: { partial: boolean; now: number }): ImportResult {
  const f = checkRunFile(file, opts);
  const { fresh, someStored } = freshSeqs(f, (agentId) => new Set(store.storedBatches(agentId).map((b) => b.seq)));
  if (fresh.size === 0) return f.result;
  const runId = f.text.header.runId;
  refuseExportInto(f, someStored, runId !== null && store.run(runId) !== null, store.file);
  const tally = new ImportTally();
  store.atomically(() => {
    let reg: { agentId: string; hid: number; host: string } | null = null;
    for (const e of runFileEntries(f.text, opts.now)) {
      if ('hello' in e) {
        // An agent with nothing new is not registered again: its stored hello stays as it was.
        reg = fresh.has(e.hello.agentId) ? { agentId: e.hello.agentId, hid: store.registerAgent(e.hello, opts.now, null, true).hid, host: e.hello.host } : null;
        continue;
      }
      if (!reg || !fresh.get(reg.agentId)?.has(e.batch.seq)) continue;
      // A seq the file holds twice is stored once: the store says which.
      if (store.writeBatches([pendingBatch(reg.agentId, reg.hid, reg.host, e.batch)], opts.now).duplicate[0]) continue;
      tally.stored(reg.host, e.batch);
    }
  });
  return tally.finish(f.result);
}
