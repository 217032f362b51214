import type pg from 'pg';
import type { SqliteStore } from '../sqlite.js';

/** Copies kept: a run's page asks for its report and each host's series, one after another. */
const KEPT = 4;

/**
 * Everything a copy of the runs holds changes one of these: a new block, mark or fingerprint
 * (ids only grow), the runs' rows (end, labels, first data, `pruned`: each retention step on the
 * run counts one) or their agents (each batch moves
 * last_seen; a hello moves hello, GPUs and fingerprints with it).
 */
const STAMP = `SELECT concat_ws('|',
  (SELECT max(bid) FROM blocks WHERE rid = ANY($1::int[])),
  (SELECT max(mid) FROM marks WHERE rid = ANY($1::int[])),
  (SELECT max(fid) FROM fingerprints WHERE rid = ANY($1::int[])),
  (SELECT string_agg(concat_ws(',', rid, ended_at, exit_code, signal, data_start, labels, pruned), ';' ORDER BY rid) FROM runs WHERE rid = ANY($1::int[])),
  (SELECT string_agg(concat_ws(',', id, rid, last_seen), ';' ORDER BY id) FROM agents WHERE rid = ANY($1::int[]))
) AS stamp`;

interface Kept {
  key: string;
  stamp: string;
  store: SqliteStore;
}

/**
 * The last few copies of runs out of PostgreSQL (copy-runs.ts), each reused while the stamp of
 * its runs is unchanged: a finished run is copied once for its report and every host's series;
 * a run still streaming is copied again when it has new data.
 */
export class RunCopies {
  private kept: Kept[] = [];

  constructor(
    private readonly pool: pg.Pool,
    private readonly copy: (runIds: readonly string[]) => Promise<SqliteStore>,
  ) {}

  private async stampOf(runIds: readonly string[]): Promise<string> {
    const { rows } = await this.pool.query<{ rid: number }>('SELECT rid FROM runs WHERE id = ANY($1::text[]) ORDER BY rid', [[...runIds]]);
    const rids = rows.map((r) => r.rid);
    const { rows: s } = await this.pool.query<{ stamp: string }>(STAMP, [rids]);
    return `${rids.join(',')}#${s[0]?.stamp ?? ''}`;
  }

  /** fn on a copy holding the runs: a kept one if nothing changed since, else a fresh one (kept). */
  async read<T>(runIds: readonly string[], fn: (store: SqliteStore) => T): Promise<T> {
    const key = JSON.stringify([...new Set(runIds)].sort());
    const stamp = await this.stampOf(runIds);
    let hit = this.kept.find((k) => k.key === key && k.stamp === stamp);
    if (!hit) {
      const store = await this.copy(runIds);
      // Stale copies of these runs go; fn runs synchronously, so none is in use meanwhile.
      for (const k of this.kept.filter((x) => x.key === key)) k.store.close();
      this.kept = this.kept.filter((x) => x.key !== key);
      hit = { key, stamp, store };
    }
    this.kept = [hit, ...this.kept.filter((k) => k !== hit)];
    for (const old of this.kept.splice(KEPT)) old.store.close();
    return fn(hit.store);
  }

  close(): void {
    for (const k of this.kept.splice(0)) k.store.close();
  }
}
