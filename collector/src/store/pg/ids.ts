import type pg from 'pg';
import { StagewatchError } from '@stagewatch/shared';
import type { PendingBatch } from '../rows.js';
import type { Learned } from './writes.js';

/**
 * What a collector remembers of the shared database's ids: metric ids (the same in every
 * collector: they come from one table), run row ids by (run, host), and each run's earliest data
 * as far as this collector has moved it. Only committed facts go in (learn(), after COMMIT).
 */
export class PgIds {
  private readonly metricIds = new Map<string, number>();
  private readonly metricNames = new Map<number, string>();
  private readonly runRids = new Map<string, number>();
  private readonly dataStarts = new Map<number, number>();

  /** The row id of a run by `runId\u0000hid`, once this collector has seen it committed. */
  ridOf(key: string): number | undefined {
    return this.runRids.get(key);
  }

  /** How early this collector has moved the run's data start (Infinity: not yet). */
  dataStartOf(rid: number): number {
    return this.dataStarts.get(rid) ?? Infinity;
  }

  /** The id of a metric resolve() has seen; any other is a bug in the caller. */
  metricId(name: string): number {
    const id = this.metricIds.get(name);
    if (id === undefined) throw new StagewatchError('store-metrics', `metric ${JSON.stringify(name)} has no id yet`);
    return id;
  }

  nameOf(id: number): string | undefined {
    return this.metricNames.get(id);
  }

  private remember(rows: ReadonlyArray<{ id: number; name: string }>): void {
    for (const r of rows) {
      if (r.id > 0xffff) throw new StagewatchError('store-metrics', 'more than 65535 distinct metric names');
      this.metricIds.set(r.name, r.id);
      this.metricNames.set(r.id, r.name);
    }
  }

  /** Reads every metric id (a reader meeting an id it does not know: another collector added it). */
  async loadMetrics(db: pg.Pool | pg.ClientBase): Promise<void> {
    this.remember((await db.query<{ id: number; name: string }>('SELECT id, name FROM metric_names')).rows);
  }

  /**
   * Gives every metric of these batches an id, in its own statements outside the batches'
   * transaction: a name whose batch then rolls back keeps its id, which harms nothing. Only
   * names not seen before are inserted (a conflicting insert would use up a sequence value).
   */
  async resolve(db: pg.Pool, items: readonly PendingBatch[]): Promise<void> {
    const missing = new Set<string>();
    for (const it of items) for (const b of it.blocks) for (const n of b.names) if (!this.metricIds.has(n)) missing.add(n);
    if (missing.size === 0) return;
    const names = [...missing].sort();
    const sql = 'SELECT id, name FROM metric_names WHERE name = ANY($1::text[])';
    this.remember((await db.query<{ id: number; name: string }>(sql, [names])).rows);
    const still = names.filter((n) => !this.metricIds.has(n));
    if (still.length === 0) return;
    await db.query('INSERT INTO metric_names(name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [still]);
    this.remember((await db.query<{ id: number; name: string }>(sql, [still])).rows);
  }

  learn(l: Learned): void {
    for (const [k, rid] of l.runRids) this.runRids.set(k, rid);
    for (const [rid, t] of l.dataStarts) this.dataStarts.set(rid, Math.min(t, this.dataStarts.get(rid) ?? Infinity));
  }
}
