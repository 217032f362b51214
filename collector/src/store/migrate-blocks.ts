import type Database from 'better-sqlite3';
import { ByteWriter } from '@stagewatch/shared';
import { blobFromColumns } from './blocks.js';

/** Samples as column blocks: one row per series of an agent batch (blocks.ts). */
export const BLOCKS_SCHEMA = `
CREATE TABLE IF NOT EXISTS blocks(
  bid INTEGER PRIMARY KEY,
  rid INTEGER NOT NULL, hid INTEGER NOT NULL,
  t0 INTEGER NOT NULL, t1 INTEGER NOT NULL,
  s0 INTEGER NOT NULL, n INTEGER NOT NULL,
  source INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_run_host_t0 ON blocks(rid, hid, t0);
CREATE INDEX IF NOT EXISTS blocks_run_host_t1 ON blocks(rid, hid, t1);
CREATE UNIQUE INDEX IF NOT EXISTS blocks_seq ON blocks(s0);
`;

/** Rows read and turned into blocks at a time: the blocks of an upgraded store are this long at most. */
const PAGE = 16384;

interface Row {
  rowid: number;
  rid: number;
  hid: number;
  t: number;
  source: number;
  gpu: number | null;
  m: Buffer;
  dur_ms: number | null;
  pid: number | null;
}

/**
 * Migration 7: the samples table (a row per sample, metrics packed as uint16 id + float64 pairs)
 * becomes blocks. Rows are taken a page at a time in rowid order and each page's rows of one
 * series (run, host, source, GPU, pid, metric ids, with or without dur_ms) become a block in time
 * order that keeps each row's rowid as its ordinal, so reads give the same order as before.
 * Samples are numbered in the order they are moved; sink cursors and skipped ranges said rowids,
 * so pages also end at each of those, and each becomes the count of samples up to it: the
 * same samples count as written.
 */
export function rowsToBlocks(db: Database.Database): void {
  db.exec(BLOCKS_SCHEMA);
  const cursors = db.prepare("SELECT key, CAST(value AS INTEGER) AS value FROM meta WHERE key LIKE '%.cursor.samples'").all() as Array<{ key: string; value: number }>;
  const skips = db.prepare("SELECT rowid, from_rowid AS \"from\", to_rowid AS \"to\" FROM sink_skips WHERE tbl = 'samples'").all() as Array<{ rowid: number; from: number; to: number }>;
  const bounds = [...new Set([...cursors.map((c) => c.value), ...skips.flatMap((s) => [s.from, s.to])])].sort((a, b) => a - b);
  const counted = new Map<number, number>();
  const page = db.prepare('SELECT rowid, rid, hid, t, source, gpu, m, dur_ms, pid FROM samples WHERE rowid > ? ORDER BY rowid LIMIT ?');
  const insert = db.prepare('INSERT INTO blocks(rid, hid, t0, t1, s0, n, source, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const w = new ByteWriter(1 << 16);
  let moved = 0;
  let b = 0;
  const flush = (rows: Row[]): void => {
    const groups = new Map<string, Row[]>();
    for (const r of rows) {
      // GPU index and pid are lanes of a block (sample-blocks.ts), not part of its key.
      const key = `${r.rid}|${r.hid}|${r.source}|${r.pid === null ? 0 : 1}|${r.dur_ms === null ? 0 : 1}|${idsOf(r.m).join(',')}`;
      const g = groups.get(key);
      if (g) g.push(r);
      else groups.set(key, [r]);
    }
    for (const g of groups.values()) {
      g.sort((x, y) => x.t - y.t || x.rowid - y.rowid);
      const n = g.length;
      const first = g[0] as Row;
      const ids = idsOf(first.m);
      const hasPid = first.pid !== null;
      const cols = {
        ids,
        hasPid,
        lane: first.gpu !== null || hasPid ? Float64Array.from(g, (r) => (r.gpu ?? r.pid) as number) : null,
        t: Float64Array.from(g, (r) => r.t),
        ord: Float64Array.from(g, (r) => r.rowid),
        dur: first.dur_ms === null ? null : Float64Array.from(g, (r) => r.dur_ms as number),
        values: ids.map((_, j) => Float64Array.from(g, (r) => r.m.readDoubleLE(j * 10 + 2))),
      };
      insert.run(first.rid, first.hid, cols.t[0], cols.t[n - 1], moved + 1, n, first.source, blobFromColumns(cols, n, w));
      moved += n;
    }
  };
  for (let after = 0; ; ) {
    const rows = page.all(after, PAGE) as Row[];
    if (rows.length === 0) break;
    let from = 0;
    for (let i = 0; i < rows.length; i++) {
      const rowid = (rows[i] as Row).rowid;
      // A cursor or skip bound below this row: what came before it is all moved, and counted.
      while (b < bounds.length && (bounds[b] as number) < rowid) {
        flush(rows.slice(from, i));
        from = i;
        counted.set(bounds[b++] as number, moved);
      }
    }
    flush(rows.slice(from));
    after = (rows.at(-1) as Row).rowid;
  }
  for (; b < bounds.length; b++) counted.set(bounds[b] as number, moved);
  const setMeta = db.prepare('UPDATE meta SET value = ? WHERE key = ?');
  for (const c of cursors) setMeta.run(String(counted.get(c.value)), c.key);
  const setSkip = db.prepare('UPDATE sink_skips SET from_rowid = ?, to_rowid = ? WHERE rowid = ?');
  for (const s of skips) setSkip.run(counted.get(s.from), counted.get(s.to), s.rowid);
  db.exec('DROP TABLE samples');
}

/** The metric ids of a packed row, in order. */
function idsOf(m: Buffer): number[] {
  const ids: number[] = [];
  for (let o = 0; o + 10 <= m.length; o += 10) ids.push(m.readUInt16LE(o));
  return ids;
}
