import type { SampleSource } from '@stagewatch/shared';
import { decodeInto } from './codec.js';
import { SOURCES } from './schema.js';
import type { SqliteStore } from './sqlite.js';

/** One stored sample as the report reads it; `values` is reused from row to row. */
export interface SampleRowView {
  host: string;
  t: number;
  source: SampleSource;
  gpu: number | undefined;
  dur: number | undefined;
  pid: number | undefined;
  values: Float64Array;
}

/**
 * A run's samples in (host, time) order, metrics decoded into `slotOf`'s slots: the report's row
 * iterator. It builds no object per row, which is most of what reading an hour costs.
 */
export function forEachSampleRow(store: SqliteStore, runId: string, slotOf: (metric: string) => number, slotCount: number, visit: (row: SampleRowView) => void): void {
  const names = store.db.prepare('SELECT id, name FROM metric_names').all() as Array<{ id: number; name: string }>;
  const slotOfId = new Int16Array(names.reduce((a, n) => Math.max(a, n.id + 1), 0)).fill(-1);
  for (const n of names) slotOfId[n.id] = slotOf(n.name);
  const hosts = new Map((store.db.prepare('SELECT hid, name FROM hosts').all() as Array<{ hid: number; name: string }>).map((h) => [h.hid, h.name]));
  const rows = store.db
    .prepare('SELECT s.hid, s.t, s.source, s.gpu, s.m, s.dur_ms, s.pid FROM samples s JOIN runs r ON r.rid = s.rid WHERE r.id = ? ORDER BY s.hid, s.t')
    .raw(true);
  const view: SampleRowView = { host: '', t: 0, source: 'gpu', gpu: undefined, dur: undefined, pid: undefined, values: new Float64Array(slotCount) };
  for (const r of rows.iterate(runId) as Iterable<[number, number, number, number | null, Uint8Array, number | null, number | null]>) {
    view.host = hosts.get(r[0]) ?? `#${r[0]}`;
    view.t = r[1];
    view.source = SOURCES[r[2]] as SampleSource;
    view.gpu = r[3] ?? undefined;
    view.dur = r[5] ?? undefined;
    view.pid = r[6] ?? undefined;
    decodeInto(r[4], slotOfId, view.values);
    visit(view);
  }
}

/** Time of each host's last sample in a run (one index probe per host). */
export function lastSampleTimes(store: SqliteStore, runId: string): Map<string, number> {
  const hosts = store.db
    .prepare('SELECT r.rid, h.hid, h.name FROM runs r JOIN run_hosts rh ON rh.rid = r.rid JOIN hosts h ON h.hid = rh.hid WHERE r.id = ?')
    .all(runId) as Array<{ rid: number; hid: number; name: string }>;
  const last = store.db.prepare('SELECT max(t) AS t FROM samples WHERE rid = ? AND hid = ?');
  const out = new Map<string, number>();
  for (const h of hosts) {
    const r = last.get(h.rid, h.hid) as { t: number | null };
    if (r.t !== null) out.set(h.name, r.t);
  }
  return out;
}
