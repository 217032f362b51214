import type Database from 'better-sqlite3';
import type { SampleSource } from '@stagewatch/shared';
import { mergeBlocks } from './block-merge.js';
import { decodeBlob, type StoredBlock } from './blocks.js';
import { finestRows, lastTimeOf } from './retention/finest-rows.js';
import type { StoredSample } from './rows.js';
import { SOURCES } from './schema.js';

/** A blocks row, decoded: where its samples belong, and their columns. */
export interface HostBlock extends StoredBlock {
  s0: number;
  n: number;
  source: SampleSource;
}

interface BlockRow {
  s0: number;
  n: number;
  source: number;
  data: Uint8Array;
}

export const BLOCK_COLUMNS = 's0, n, source, data';

export function hostBlock(r: BlockRow): HostBlock {
  const source = SOURCES[r.source] as SampleSource;
  return { ...decodeBlob(r.data, r.n, source), s0: r.s0, n: r.n, source };
}

/** Sample i of a block as the store gives samples back: optional fields only where stored. */
export function sampleOf(b: HostBlock, i: number, host: string, nameOf: (id: number) => string): StoredSample {
  const m: Record<string, number> = {};
  for (let j = 0; j < b.ids.length; j++) m[nameOf(b.ids[j] as number)] = (b.values[j] as Float64Array)[i] as number;
  const s: StoredSample = { t: b.t[i] as number, host, source: b.source, m };
  if (b.source === 'gpu') s.gpu = (b.lane as Float64Array)[i] as number;
  if (b.dur) s.dur_ms = b.dur[i] as number;
  if (b.hasPid) s.pid = (b.lane as Float64Array)[i] as number;
  return s;
}

/**
 * Reads a host's samples out of its blocks, in (time, ordinal) order, decoding blocks as the
 * read reaches them. `stmt` is the store's prepared-statement cache: a statement still iterating
 * (a visit that reads again) is not reused.
 */
export class BlockReads {
  constructor(private readonly stmt: (sql: string) => Database.Statement) {}

  /** Samples of one run and host, all (since null) or those at or after `since`. */
  forEach(rid: number, hid: number, since: number | null, visit: (b: HostBlock, i: number) => void): void {
    // Raw blocks and roll-ups (retention/) in order of their start; with `since`, those that end at or after it.
    const rows: IterableIterator<BlockRow> = finestRows(this.stmt, rid, hid, since);
    try {
      mergeBlocks(
        () => {
          const r = rows.next();
          return r.done ? undefined : hostBlock(r.value);
        },
        since === null ? visit : (b, i) => (b.t[i] as number) >= since && visit(b, i),
      );
    } finally {
      // A visit that threw leaves the statement mid-iteration; return() releases it.
      rows.return?.();
    }
  }

  /**
   * Samples of one run and host block by block, blocks in order of their first time, each
   * block's samples in its own (time) order: not merged across blocks. For readers that take
   * samples in nearly time order (within a batch's span), the report's aggregation: a series'
   * samples still come in time order (one series' blocks do not overlap), and the merge's heap
   * was a third of the report's time.
   */
  forEachByBlock(rid: number, hid: number, visit: (b: HostBlock, i: number) => void): void {
    const rows: IterableIterator<BlockRow> = finestRows(this.stmt, rid, hid, null);
    try {
      for (const r of rows) {
        const b = hostBlock(r);
        for (let i = 0; i < b.n; i++) visit(b, i);
      }
    } finally {
      rows.return?.();
    }
  }

  /** Time of a host's last sample in a run, or null (one probe of the t1 index). */
  lastTime(rid: number, hid: number): number | null {
    return lastTimeOf(this.stmt, rid, hid);
  }
}
