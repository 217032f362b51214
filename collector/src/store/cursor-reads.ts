import type Database from 'better-sqlite3';
import type { RowPlace, SinkSource, SkippedRange } from '../sinks/types.js';
import { markFromRow, type MarkRow, type SampleRow, type StoredMark, type StoredSample } from './rows.js';

type Decode = (r: SampleRow, host: string) => StoredSample;

/**
 * The store as sinks see it (SinkSource): rows past a cursor, oldest first, and the cursors
 * themselves in the meta table. Statements are prepared once; the store hands this out and
 * keeps its database handle to itself.
 */
export class CursorReads implements SinkSource {
  private readonly q;

  constructor(
    db: Database.Database,
    private readonly decode: Decode,
  ) {
    this.q = {
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      samplesAfter: db.prepare(
        `SELECT s.rowid, s.rid, s.hid, r.id AS runId, h.name AS host, s.t, s.source, s.gpu, s.m, s.dur_ms, s.pid FROM samples s
         JOIN runs r ON r.rid = s.rid JOIN hosts h ON h.hid = s.hid WHERE s.rowid > ? ORDER BY s.rowid LIMIT ?`,
      ),
      marksAfter: db.prepare(
        `SELECT m.rowid, m.rid, m.hid, r.id AS runId, h.name AS host, m.t, m.kind, m.stage, m.step, m.rank, m.source FROM marks m
         JOIN runs r ON r.rid = m.rid JOIN hosts h ON h.hid = m.hid WHERE m.rowid > ? AND m.timing IS NULL ORDER BY m.rowid LIMIT ?`,
      ),
      marksUpTo: db.prepare('SELECT t, kind, stage, step, rank, source FROM marks WHERE rid = ? AND hid = ? AND t <= ? AND timing IS NULL ORDER BY t'),
      latestBegin: db.prepare(`SELECT max(t) AS t FROM marks WHERE rid = ? AND hid = ? AND stage = ? AND step IS ? AND rank IS ? AND kind = 'begin' AND t <= ? AND timing IS NULL`),
      maxSamples: db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM samples'),
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
    const rows = this.q.samplesAfter.all(cursor, limit) as Array<SampleRow & RowPlace & { host: string }>;
    return rows.map((r) => ({ ...this.decode(r, r.host), rowid: r.rowid, rid: r.rid, hid: r.hid, runId: r.runId }));
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
    return { samples: (this.q.maxSamples.get() as { n: number }).n, marks: (this.q.maxMarks.get() as { n: number }).n };
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
