import type { Batch } from '@stagewatch/shared';
import type { PgImportWriter } from '../store/pg/engine.js';
import { pendingBatch, type PendingBatch, type RunSummary } from '../store/rows.js';
import { checkRunFile, freshSeqs, ImportTally, refuseExportInto, type ImportResult } from './import.js';
import { runFileEntries } from './read.js';

/** The PostgreSQL engine as an import uses it (PgEngine). */
export interface PgImportTarget {
  readonly where: string;
  storedSeqs(agentIds: readonly string[]): Promise<Map<string, Set<number>>>;
  run(runId: string): Promise<RunSummary | null>;
  importing<T>(fn: (w: PgImportWriter) => Promise<T>): Promise<T>;
}

/**
 * Batches written per writeBatches: a round trip per batch would make a long run's import slow,
 * and a bound on samples keeps an export's few big batches from going in one huge statement.
 */
const GROUP_BATCHES = 64;
const GROUP_SAMPLES = 50_000;

/**
 * As importRunFile (import.ts), into PostgreSQL: the same checks first, then every write in one
 * transaction, so a file is stored whole or not at all here too. Exactly once holds by (agent,
 * seq) as for a stream: batches a collector stores meanwhile are found stored, not doubled.
 */
export async function importRunFilePg(target: PgImportTarget, file: string, opts: { partial: boolean; now: number }): Promise<ImportResult> {
  const f = checkRunFile(file, opts);
  const stored = await target.storedSeqs([...f.seqs.keys()]);
  const { fresh, someStored } = freshSeqs(f, (agentId) => stored.get(agentId) ?? new Set());
  if (fresh.size === 0) return f.result;
  const runId = f.text.header.runId;
  refuseExportInto(f, someStored, runId !== null && (await target.run(runId)) !== null, target.where);
  return await target.importing(async (w) => {
    // Made afresh on each attempt: a transaction PostgreSQL aborted and ran again stored nothing the first time.
    const tally = new ImportTally();
    let group: Array<{ item: PendingBatch; batch: Batch }> = [];
    let samples = 0;
    const flush = async (): Promise<void> => {
      if (group.length === 0) return;
      const dup = await w.writeBatches(group.map((g) => g.item), opts.now);
      group.forEach((g, i) => {
        if (!dup[i]) tally.stored(g.item.host, g.batch);
      });
      group = [];
      samples = 0;
    };
    let reg: { agentId: string; hid: number; host: string } | null = null;
    for (const e of runFileEntries(f.text, opts.now)) {
      if ('hello' in e) {
        // A hello's batches follow it: those before it go first.
        await flush();
        // An agent with nothing new is not registered again: its stored hello stays as it was.
        reg = fresh.has(e.hello.agentId) ? { agentId: e.hello.agentId, hid: await w.registerAgent(e.hello, opts.now), host: e.hello.host } : null;
        continue;
      }
      if (!reg || !fresh.get(reg.agentId)?.has(e.batch.seq)) continue;
      // A seq the file holds twice is stored once: the store says which.
      group.push({ item: pendingBatch(reg.agentId, reg.hid, reg.host, e.batch), batch: e.batch });
      samples += e.batch.samples.length;
      if (group.length >= GROUP_BATCHES || samples >= GROUP_SAMPLES) await flush();
    }
    await flush();
    return tally.finish({ ...f.result });
  });
}
