import { markFromRow, type MarkRow, type SampleRow, type SqliteStore, type StoredMark, type StoredSample } from './sqlite.js';

/** Reads for the InfluxDB sink: what lies past a cursor, and what it needs to tag it. */
export function getMeta(store: SqliteStore, key: string): string | null {
  const r = store.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return r ? r.value : null;
}

export function setMeta(store: SqliteStore, key: string, value: string): void {
  store.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}

/** Samples stored after a cursor (rowid), oldest first, with their run and host: what a sink reads. */
export function samplesAfter(store: SqliteStore, cursor: number, limit: number): Array<StoredSample & { rowid: number; runId: string; rid: number; hid: number }> {
  const rows = store.db
    .prepare(
      `SELECT s.rowid, s.rid, s.hid, r.id AS runId, h.name AS host, s.t, s.source, s.gpu, s.m FROM samples s
       JOIN runs r ON r.rid = s.rid JOIN hosts h ON h.hid = s.hid WHERE s.rowid > ? ORDER BY s.rowid LIMIT ?`,
    )
    .all(cursor, limit) as Array<SampleRow & { rowid: number; rid: number; hid: number; runId: string; host: string }>;
  return rows.map((r) => ({ ...store.sampleFromRow(r, r.host), rowid: r.rowid, rid: r.rid, hid: r.hid, runId: r.runId }));
}

/**
 * Marks stored after a cursor (rowid), oldest first. Spans (marks with timing) stay out: they are
 * summarised per step in the report, and thousands of them per request would flood the series.
 */
export function marksAfter(store: SqliteStore, cursor: number, limit: number): Array<StoredMark & { rowid: number; runId: string; rid: number; hid: number }> {
  const rows = store.db
    .prepare(
      `SELECT m.rowid, m.rid, m.hid, r.id AS runId, h.name AS host, m.t, m.kind, m.stage, m.step, m.rank, m.source FROM marks m
       JOIN runs r ON r.rid = m.rid JOIN hosts h ON h.hid = m.hid WHERE m.rowid > ? AND m.timing IS NULL ORDER BY m.rowid LIMIT ?`,
    )
    .all(cursor, limit) as Array<MarkRow & { rowid: number; rid: number; hid: number; runId: string; host: string }>;
  return rows.map(markFromRow);
}

/** Marks of one run and host up to time t: enough to know which stage was open then. */
export function marksUpTo(store: SqliteStore, rid: number, hid: number, t: number): Array<{ t: number; kind: 'begin' | 'end'; stage: string; step?: number; rank?: number }> {
  const rows = store.db
    .prepare('SELECT t, kind, stage, step, rank, source FROM marks WHERE rid = ? AND hid = ? AND t <= ? AND timing IS NULL ORDER BY t')
    .all(rid, hid, t) as MarkRow[];
  return rows.map(markFromRow);
}

/** Time of the latest begin of a stage (same step and rank) at or before t, or null. */
export function latestBegin(store: SqliteStore, rid: number, hid: number, stage: string, step: number | null, rank: number | null, t: number): number | null {
  const r = store.db
    .prepare(`SELECT max(t) AS t FROM marks WHERE rid = ? AND hid = ? AND stage = ? AND step IS ? AND rank IS ? AND kind = 'begin' AND t <= ?`)
    .get(rid, hid, stage, step, rank, t) as { t: number | null };
  return r.t;
}

export function maxRowids(store: SqliteStore): { samples: number; marks: number } {
  const s = store.db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM samples').get() as { n: number };
  const m = store.db.prepare('SELECT coalesce(max(rowid), 0) AS n FROM marks').get() as { n: number };
  return { samples: s.n, marks: m.n };
}

/** GPU uuid and name by host and index, for tags. */
export function gpuTags(store: SqliteStore): Map<string, { uuid: string; name: string }> {
  const rows = store.db.prepare('SELECT h.name AS host, g.idx, g.uuid, g.name FROM gpus g JOIN hosts h ON h.hid = g.hid').all() as Array<{ host: string; idx: number; uuid: string; name: string }>;
  return new Map(rows.map((r) => [`${r.host}\u0000${r.idx}`, { uuid: r.uuid, name: r.name }]));
}
