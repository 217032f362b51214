import type Database from 'better-sqlite3';
import type { RowPlace, SinkSource, SkippedRange } from '../sinks/types.js';
import { BLOCK_COLUMNS, hostBlock, sampleOf } from './block-reads.js';
import { NEXT_SEQ_KEY } from './retention/schema.js';
import { markFromRow, type MarkRow, type StoredMark, type StoredSample } from './rows.js';

interface PlacedBlockRow {
  s0: number;
  n: number;
  source: number;
  data: Uint8Array;
  rid: number;
  hid: number;
  runId: string;
  host: string;
}

const PLACED = `SELECT ${BLOCK_COLUMNS.split(', ').map((c) => `b.${c}`).join(', ')}, b.rid, b.hid, r.id AS runId, h.name AS host FROM blocks b
  JOIN runs r ON r.rid = b.rid JOIN hosts h ON h.hid = b.hid`;

/**
 * The store as sinks see it (SinkSource): rows past a cursor, oldest first, and the cursors
 * themselves in the meta table. A sample's place (RowPlace.rowid) is its sequence number: blocks
 * number their samples on from the store's count when they are stored (s0 + i), so a cursor
 * says how many samples a sink has written and the backlog is a difference. Statements are
 * prepared once; the store hands this out and keeps its database handle to itself.
 */
export class CursorReads implements SinkSource {
  private readonly q;

  constructor(
    db: Database.Database,
    private readonly nameOf: (id: number) => string,
  ) {
    this.q = {
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      // The block holding the sample after the cursor, then the blocks after it.
      blockAt: db.prepare(`${PLACED} WHERE b.s0 <= ? ORDER BY b.s0 DESC LIMIT 1`),
      blocksAfter: db.prepare(`${PLACED} WHERE b.s0 > ? ORDER BY b.s0`),
      marksAfter: db.prepare(
        `SELECT m.rowid, m.rid, m.hid, r.id AS runId, h.name AS host, m.t, m.kind, m.stage, m.step, m.rank, m.source FROM marks m
         JOIN runs r ON r.rid = m.rid JOIN hosts h ON h.hid = m.hid WHERE m.rowid > ? AND m.timing IS NULL ORDER BY m.rowid LIMIT ?`,
      ),
      marksUpTo: db.prepare('SELECT t, kind, stage, step, rank, source FROM marks WHERE rid = ? AND hid = ? AND t <= ? AND timing IS NULL ORDER BY t'),
      latestBegin: db.prepare(`SELECT max(t) AS t FROM marks WHERE rid = ? AND hid = ? AND stage = ? AND step IS ? AND rank IS ? AND kind = 'begin' AND t <= ? AND timing IS NULL`),
      // The last number given to a reading, kept in meta where pruning took the newest raw blocks (retention/).
      maxSamples: db.prepare(
        `SELECT max(coalesce((SELECT s0 + n - 1 FROM blocks ORDER BY s0 DESC LIMIT 1), 0), coalesce((SELECT CAST(value AS INTEGER) - 1 FROM meta WHERE key = '${NEXT_SEQ_KEY}'), 0)) AS n`,
      ),
      maxMarks: db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM marks'),
      gpuTags: db.prepare('SELECT h.name AS host, g.idx, g.uuid, g.name FROM gpus g JOIN hosts h ON h.hid = g.hid'),
      recordSkip: db.prepare('INSERT INTO sink_skips(sink, tbl, from_rowid, to_rowid, at, error) VALUES (?, ?, ?, ?, ?, ?)'),
      skipped: db.prepare('SELECT sink, tbl AS "table", from_rowid AS "from", to_rowid AS "to", at, error FROM sink_skips WHERE sink = ? ORDER BY rowid'),
    };
  }

  cursor(key: string): number {
    const r = this.q.getMeta.get(key) as { value: string } | undefined;
    return r ? Number(r.value) : 0;
  }

  setCursor(key: string, value: number): void {
    this.q.setMeta.run(key, String(value));
  }

  samplesAfter(cursor: number, limit: number): Array<StoredSample & RowPlace> {
    const out: Array<StoredSample & RowPlace> = [];
    const take = (r: PlacedBlockRow): void => {
      const b = hostBlock(r);
      for (let i = Math.max(0, cursor + 1 - r.s0); i < r.n && out.length < limit; i++) {
        out.push({ ...sampleOf(b, i, r.host, this.nameOf), rowid: r.s0 + i, rid: r.rid, hid: r.hid, runId: r.runId });
      }
    };
    const at = this.q.blockAt.get(cursor) as PlacedBlockRow | undefined;
    if (at && at.s0 + at.n - 1 > cursor) take(at);
    if (out.length < limit) {
      for (const r of this.q.blocksAfter.iterate(cursor) as Iterable<PlacedBlockRow>) {
        take(r);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /**
   * Spans (marks with timing) stay out of the mark reads: they are summarised per step in the
   * report, and thousands of them per request would flood the series.
   */
  marksAfter(cursor: number, limit: number): Array<StoredMark & RowPlace> {
    const rows = this.q.marksAfter.all(cursor, limit) as Array<MarkRow & RowPlace & { host: string }>;
    return rows.map(markFromRow);
  }

  marksUpTo(rid: number, hid: number, t: number): Array<{ t: number; kind: 'begin' | 'end'; stage: string; step?: number; rank?: number }> {
    return (this.q.marksUpTo.all(rid, hid, t) as MarkRow[]).map(markFromRow);
  }

  latestBegin(rid: number, hid: number, stage: string, step: number | null, rank: number | null, t: number): number | null {
    return (this.q.latestBegin.get(rid, hid, stage, step, rank, t) as { t: number | null }).t;
  }

  maxRowids(): { samples: number; marks: number } {
    return { samples: (this.q.maxSamples.get() as { n: number } | undefined)?.n ?? 0, marks: (this.q.maxMarks.get() as { n: number }).n };
  }

  gpuTags(): Map<string, { uuid: string; name: string }> {
    const rows = this.q.gpuTags.all() as Array<{ host: string; idx: number; uuid: string; name: string }>;
    return new Map(rows.map((r) => [`${r.host}\u0000${r.idx}`, { uuid: r.uuid, name: r.name }]));
  }

  recordSkip(s: SkippedRange): void {
    this.q.recordSkip.run(s.sink, s.table, s.from, s.to, s.at, s.error);
  }

  skipped(sink: string): SkippedRange[] {
    return this.q.skipped.all(sink) as SkippedRange[];
  }
}
