import type pg from 'pg';
import { ByteWriter, SOURCE_CODES, StagewatchError, type SampleSource } from '@stagewatch/shared';
import { blobFromColumns, decodeBlob, rollupBlob } from '../blocks.js';
import type { RollOutput } from '../retention/rollup.js';
import type { Remainder, Resolution, RunHost, StepChange, TargetBlock } from '../retention/target.js';
import { SOURCES } from '../schema.js';

/** An arbitrary constant (not the migration's): the advisory lock a collector holds for a retention pass. */
export const RETENTION_LOCK = 0x57a9f;

/**
 * RetentionTarget's operations (retention/target.ts) on PostgreSQL, asynchronous, on one
 * connection that holds the retention lock for the pass (PgEngine.retentionSession): only one
 * collector of a database prunes at a time. Readings have no sink numbering here (no sink runs on
 * this engine), so there is no firstUnexported and raw blocks carry no s0.
 */
export class PgRetention {
  private readonly w = new ByteWriter(1 << 16);

  constructor(
    private readonly c: pg.ClientBase,
    private readonly names: (ids: readonly number[]) => Promise<(id: number) => string>,
  ) {}

  async olderThan(res: Resolution, cutoff: number): Promise<RunHost[]> {
    const sql =
      res === 0
        ? 'SELECT rid, hid FROM run_hosts rh WHERE (SELECT min(t0) FROM blocks b WHERE b.rid = rh.rid AND b.hid = rh.hid) <= $1 ORDER BY rid, hid'
        : 'SELECT rid, hid FROM run_hosts rh WHERE (SELECT min(t0) FROM rollups r WHERE r.rid = rh.rid AND r.hid = rh.hid AND r.res = $2) <= $1 ORDER BY rid, hid';
    return (await this.c.query<RunHost>(sql, res === 0 ? [cutoff] : [cutoff, res])).rows;
  }

  async starts(res: Resolution, rh: RunHost, limit: number): Promise<number[]> {
    const { rows } =
      res === 0
        ? await this.c.query<{ t0: number }>('SELECT t0 FROM blocks WHERE rid = $1 AND hid = $2 ORDER BY t0 LIMIT $3', [rh.rid, rh.hid, limit])
        : await this.c.query<{ t0: number }>('SELECT t0 FROM rollups WHERE rid = $1 AND hid = $2 AND res = $3 ORDER BY t0 LIMIT $4', [rh.rid, rh.hid, res, limit]);
    return rows.map((r) => r.t0);
  }

  /** The blocks decoded, and the names of their metric ids known (another collector may have added some). */
  async blocksThrough(res: Resolution, rh: RunHost, end: number): Promise<{ blocks: TargetBlock[]; nameOf: (id: number) => string }> {
    const { rows } =
      res === 0
        ? await this.c.query<{ bid: number; n: number; source: number; data: Buffer }>('SELECT bid, n, source, data FROM blocks WHERE rid = $1 AND hid = $2 AND t0 <= $3 ORDER BY t0, bid', [rh.rid, rh.hid, end])
        : await this.c.query<{ bid: number; n: number; source: number; data: Buffer }>('SELECT bid, n, source, data FROM rollups WHERE rid = $1 AND hid = $2 AND res = $3 AND t0 <= $4 ORDER BY t0, bid', [rh.rid, rh.hid, res, end]);
    const blocks = rows.map((r): TargetBlock => {
      const source = SOURCES[r.source] as SampleSource;
      return { ...decodeBlob(r.data, r.n, source), source, n: r.n, ref: r.bid, s0: 0 };
    });
    return { blocks, nameOf: await this.names([...new Set(blocks.flatMap((b) => b.ids))]) };
  }

  async markTimes(rh: RunHost, from: number, to: number): Promise<number[]> {
    const { rows } = await this.c.query<{ t: number }>('SELECT DISTINCT t FROM marks WHERE rid = $1 AND hid = $2 AND t > $3 AND t <= $4 AND timing IS NULL ORDER BY t', [rh.rid, rh.hid, from, to]);
    return rows.map((r) => r.t);
  }

  /**
   * A step in one transaction. Ingest only ever adds blocks, and only the lock's holder deletes
   * any, so every block the step read is still there: one that is not means something else pruned
   * meanwhile, and the step is rolled back rather than applied on a changed host.
   */
  async apply(ch: StepChange): Promise<void> {
    const c = this.c;
    await c.query('BEGIN');
    try {
      const table = ch.res === 0 ? 'blocks' : 'rollups';
      const gone = await c.query(`DELETE FROM ${table} WHERE bid = ANY($1::bigint[])`, [ch.drop.map((b) => b.ref)]);
      if (gone.rowCount !== ch.drop.length) throw new StagewatchError('retention', `run ${ch.rid} host ${ch.hid}: ${ch.drop.length - (gone.rowCount ?? 0)} of the step's blocks were gone; step undone`);
      for (const k of ch.keep) await this.keep(ch, k);
      // The step's roll-ups in one statement: a step's transaction is as short as its round trips.
      const add = ch.to === null ? [] : ch.add;
      if (add.length > 0) {
        await c.query(
          `INSERT INTO rollups(rid, hid, res, t0, t1, n, source, data)
           SELECT $1, $2, $3, a, b, n, s, d FROM unnest($4::bigint[], $5::bigint[], $6::int[], $7::smallint[], $8::bytea[]) WITH ORDINALITY AS u(a, b, n, s, d, o) ORDER BY o`,
          [ch.rid, ch.hid, ch.to, add.map((o) => o.t[0]), add.map((o) => o.t[o.n - 1]), add.map((o) => o.n), add.map((o) => SOURCE_CODES[o.source]), add.map((o) => Buffer.from(rollupBlob(o, o.n, this.w)))],
        );
      }
      await c.query('UPDATE runs SET pruned = pruned + 1 WHERE rid = $1', [ch.rid]);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  private async insertRolled(ch: StepChange, res: Resolution, t0: number, t1: number, n: number, source: SampleSource, blob: Uint8Array): Promise<void> {
    await this.c.query('INSERT INTO rollups(rid, hid, res, t0, t1, n, source, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [ch.rid, ch.hid, res, t0, t1, n, SOURCE_CODES[source], Buffer.from(blob)]);
  }

  /** As SqliteRetention's keep: the readings of a block after the step's end, written back as a block of its own. */
  private async keep(ch: StepChange, { block: b, from }: Remainder): Promise<void> {
    const n = b.n - from;
    const cut = (a: Float64Array): Float64Array => a.subarray(from);
    const t = cut(b.t);
    const cols = { ids: b.ids, hasPid: b.hasPid, lane: b.lane ? cut(b.lane) : null, t, dur: b.dur ? cut(b.dur) : null, values: b.values.map(cut) };
    if (ch.res === 0) {
      // A read numbers raw readings by block (bid) order (copy-runs.ts): the remainder's are
      // numbered where it now stands, after the blocks stored before the step.
      const blob = blobFromColumns({ ...cols, ord: null }, n, this.w);
      await this.c.query('INSERT INTO blocks(rid, hid, t0, t1, n, source, data) VALUES ($1, $2, $3, $4, $5, $6, $7)', [ch.rid, ch.hid, t[0], t[n - 1], n, SOURCE_CODES[b.source], Buffer.from(blob)]);
      return;
    }
    const ext = b.extremes;
    const out: RollOutput = { ...cols, source: b.source, n, dur: cut(b.dur as Float64Array), extremes: ext ? { min: ext.min.map(cut), max: ext.max.map(cut) } : { min: cols.values, max: cols.values } };
    await this.insertRolled(ch, ch.res, t[0] as number, t[n - 1] as number, n, b.source, rollupBlob(out, n, this.w));
  }
}
