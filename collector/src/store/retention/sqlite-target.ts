import type Database from 'better-sqlite3';
import { ByteWriter, SOURCE_CODES, type SampleSource } from '@stagewatch/shared';
import { blobFromColumns, decodeBlob, rollupBlob } from '../blocks.js';
import { SOURCES } from '../schema.js';
import type { RollOutput } from './rollup.js';
import { NEXT_SEQ_KEY } from './schema.js';
import type { Remainder, Resolution, RetentionTarget, RunHost, StepChange, TargetBlock } from './target.js';

interface Row {
  bid: number;
  s0: number;
  n: number;
  source: number;
  data: Uint8Array;
}

/** RetentionTarget on the embedded store (sqlite.ts hands it out; the handle stays private to both). */
export class SqliteRetention implements RetentionTarget {
  private readonly q;
  private readonly w = new ByteWriter(1 << 16);

  constructor(
    private readonly db: Database.Database,
    private readonly nameOf: (id: number) => string,
  ) {
    this.q = {
      // One probe of the (run, host, time) index per run and host, all inside SQLite: a pass's plan
      // over ten thousand runs stays a few milliseconds of the event loop.
      rawOlder: db.prepare('SELECT rid, hid FROM run_hosts rh WHERE (SELECT min(t0) FROM blocks b WHERE b.rid = rh.rid AND b.hid = rh.hid) <= ?'),
      rolledOlder: db.prepare('SELECT rid, hid FROM run_hosts rh WHERE (SELECT min(t0) FROM rollups r WHERE r.rid = rh.rid AND r.hid = rh.hid AND r.res = ?) <= ?'),
      startsRaw: db.prepare('SELECT t0 FROM blocks WHERE rid = ? AND hid = ? ORDER BY t0 LIMIT ?').pluck(),
      startsRolled: db.prepare('SELECT t0 FROM rollups WHERE rid = ? AND hid = ? AND res = ? ORDER BY t0 LIMIT ?').pluck(),
      rawThrough: db.prepare('SELECT bid, s0, n, source, data FROM blocks WHERE rid = ? AND hid = ? AND t0 <= ? ORDER BY t0'),
      rolledThrough: db.prepare('SELECT bid, 0 AS s0, n, source, data FROM rollups WHERE rid = ? AND hid = ? AND res = ? AND t0 <= ? ORDER BY t0'),
      // A range of the (run, host, t0) index no longer than a step's: cheap however far behind the sink is.
      unexported: db.prepare('SELECT min(t0) AS t0 FROM blocks WHERE rid = ? AND hid = ? AND t0 <= ? AND s0 + n - 1 > ?'),
      markTimes: db.prepare('SELECT DISTINCT t FROM marks WHERE rid = ? AND hid = ? AND t > ? AND t <= ? AND timing IS NULL ORDER BY t').pluck(),
      deleteRaw: db.prepare('DELETE FROM blocks WHERE bid = ?'),
      deleteRolled: db.prepare('DELETE FROM rollups WHERE bid = ?'),
      insertRaw: db.prepare('INSERT INTO blocks(rid, hid, t0, t1, s0, n, source, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      insertRolled: db.prepare('INSERT INTO rollups(rid, hid, res, t0, t1, n, source, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      nextSeq: db.prepare(`INSERT INTO meta(key, value) VALUES ('${NEXT_SEQ_KEY}', ?) ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))`),
    };
  }

  olderThan(res: Resolution, cutoff: number): RunHost[] {
    return (res === 0 ? this.q.rawOlder.all(cutoff) : this.q.rolledOlder.all(res, cutoff)) as RunHost[];
  }

  starts(res: Resolution, rh: RunHost, limit: number): number[] {
    return (res === 0 ? this.q.startsRaw.all(rh.rid, rh.hid, limit) : this.q.startsRolled.all(rh.rid, rh.hid, res, limit)) as number[];
  }

  blocksThrough(res: Resolution, rh: RunHost, end: number): TargetBlock[] {
    const rows = (res === 0 ? this.q.rawThrough.all(rh.rid, rh.hid, end) : this.q.rolledThrough.all(rh.rid, rh.hid, res, end)) as Row[];
    return rows.map((r) => {
      const source = SOURCES[r.source] as SampleSource;
      return { ...decodeBlob(r.data, r.n, source), source, n: r.n, ref: r.bid, s0: r.s0 };
    });
  }

  firstUnexported(rh: RunHost, end: number, seq: number): number | null {
    return (this.q.unexported.get(rh.rid, rh.hid, end, seq) as { t0: number | null }).t0;
  }

  markTimes(rh: RunHost, from: number, to: number): number[] {
    return this.q.markTimes.all(rh.rid, rh.hid, from, to) as number[];
  }

  metricName(id: number): string {
    return this.nameOf(id);
  }

  apply(c: StepChange): void {
    this.db.transaction(() => {
      let next = 0;
      for (const b of c.drop) {
        (c.res === 0 ? this.q.deleteRaw : this.q.deleteRolled).run(b.ref);
        next = Math.max(next, b.s0 + b.n);
      }
      // Raw readings' numbers are never given out again, even when the newest raw block goes.
      if (c.res === 0 && next > 0) this.q.nextSeq.run(String(next));
      for (const k of c.keep) this.keep(c, k);
      if (c.to === null) return;
      for (const o of c.add) {
        this.q.insertRolled.run(c.rid, c.hid, c.to, o.t[0], o.t[o.n - 1], o.n, SOURCE_CODES[o.source], rollupBlob(o, o.n, this.w));
      }
    })();
  }

  /** Writes the readings of a block after the step's end back as a block of its own. */
  private keep(c: StepChange, { block: b, from }: Remainder): void {
    const n = b.n - from;
    const cut = (a: Float64Array): Float64Array => a.subarray(from);
    const t = cut(b.t);
    const cols = { ids: b.ids, hasPid: b.hasPid, lane: b.lane ? cut(b.lane) : null, t, dur: b.dur ? cut(b.dur) : null, values: b.values.map(cut) };
    if (c.res === 0) {
      // Reading i keeps its number s0 + i (and its read order, where the block kept explicit ordinals).
      const ord = b.ord ? cut(b.ord) : Float64Array.from({ length: n }, (_, i) => b.s0 + from + i);
      this.q.insertRaw.run(c.rid, c.hid, t[0], t[n - 1], b.s0 + from, n, SOURCE_CODES[b.source], blobFromColumns({ ...cols, ord }, n, this.w));
      return;
    }
    const ext = b.extremes;
    const out: RollOutput = {
      ...cols,
      source: b.source,
      n,
      dur: cut(b.dur as Float64Array),
      extremes: ext ? { min: ext.min.map(cut), max: ext.max.map(cut) } : { min: cols.values, max: cols.values },
    };
    this.q.insertRolled.run(c.rid, c.hid, c.res, t[0], t[n - 1], n, SOURCE_CODES[b.source], rollupBlob(out, n, this.w));
  }
}
