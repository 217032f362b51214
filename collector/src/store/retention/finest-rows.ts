import type Database from 'better-sqlite3';

/** A stored block's row as the reads take it (block-reads.ts), with its first time. */
export interface TimedRow {
  t0: number;
  s0: number;
  n: number;
  source: number;
  data: Uint8Array;
}

const RAW = 'SELECT t0, s0, n, source, data FROM blocks WHERE rid = ? AND hid = ?';
// Roll-ups carry no sequence numbers: 0 orders them before raw readings of the same time.
const ROLLED = 'SELECT t0, 0 AS s0, n, source, data FROM rollups WHERE rid = ? AND hid = ?';

/**
 * A host's blocks of every resolution in order of their first time: raw blocks and roll-ups
 * (retention/), streamed from two index scans and merged. Pruning moves a host's readings from
 * raw to 1 s to 10 s at one time bound per step, so each time range is held at one resolution:
 * the finest left for it. `since`: only blocks that end at or after it (the t1 indexes).
 */
export function* finestRows(stmt: (sql: string) => Database.Statement, rid: number, hid: number, since: number | null): Generator<TimedRow> {
  const scan = (sql: string): IterableIterator<TimedRow> =>
    (since === null ? stmt(`${sql} ORDER BY t0`).iterate(rid, hid) : stmt(`${sql} AND t1 >= ? ORDER BY t0`).iterate(rid, hid, since)) as IterableIterator<TimedRow>;
  const raw = scan(RAW);
  let rolled: IterableIterator<TimedRow> | null = null;
  try {
    rolled = scan(ROLLED);
    let a = raw.next();
    let b = rolled.next();
    while (!a.done || !b.done) {
      if (b.done || (!a.done && a.value.t0 < b.value.t0)) {
        yield a.value as TimedRow;
        a = raw.next();
      } else {
        yield b.value;
        b = rolled.next();
      }
    }
  } finally {
    // A reader that stops early (or throws) leaves the statements mid-iteration: release them.
    raw.return?.();
    rolled?.return?.();
  }
}

/** Time of a host's last reading at any resolution (two probes of the t1 indexes). */
export function lastTimeOf(stmt: (sql: string) => Database.Statement, rid: number, hid: number): number | null {
  const t = (sql: string): number | null => (stmt(sql).get(rid, hid) as { t: number | null }).t;
  const raw = t('SELECT max(t1) AS t FROM blocks WHERE rid = ? AND hid = ?');
  const rolled = t('SELECT max(t1) AS t FROM rollups WHERE rid = ? AND hid = ?');
  return raw === null ? rolled : rolled === null ? raw : Math.max(raw, rolled);
}

/** A stretch of a host's readings held at one resolution. */
export interface ResolutionSpan {
  resolution: 'raw' | '1s' | '10s';
  /** First and last reading's time (collector clock, ms). */
  from_ms: number;
  to_ms: number;
}

/**
 * Which resolutions a host's readings are held at, and over which times (report JSON's
 * `resolution`): one probe of each index per resolution. Finest first.
 */
export function resolutionsOf(stmt: (sql: string) => Database.Statement, rid: number, hid: number): ResolutionSpan[] {
  const span = (r: { t0: number | null; t1: number | null }, resolution: ResolutionSpan['resolution']): ResolutionSpan[] =>
    r.t0 === null || r.t1 === null ? [] : [{ resolution, from_ms: r.t0, to_ms: r.t1 }];
  // A min and a max apart: SQLite answers a lone min() or max() from an index, both together by a scan.
  const raw = stmt('SELECT (SELECT min(t0) FROM blocks WHERE rid = ? AND hid = ?) AS t0, (SELECT max(t1) FROM blocks WHERE rid = ? AND hid = ?) AS t1').get(rid, hid, rid, hid) as {
    t0: number | null;
    t1: number | null;
  };
  const rolled = (res: number): { t0: number | null; t1: number | null } =>
    stmt('SELECT (SELECT min(t0) FROM rollups WHERE rid = ? AND hid = ? AND res = ?) AS t0, (SELECT max(t1) FROM rollups WHERE rid = ? AND hid = ? AND res = ?) AS t1').get(rid, hid, res, rid, hid, res) as {
      t0: number | null;
      t1: number | null;
    };
  return [...span(raw, 'raw'), ...span(rolled(1000), '1s'), ...span(rolled(10000), '10s')];
}
