import type Database from 'better-sqlite3';
import type { SampleSource } from '@stagewatch/shared';
import { StagewatchError } from '@stagewatch/shared';
import { SOURCES } from './schema.js';

/** One stored sample as the report reads it; the object and `values` are reused from row to row. */
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
 * Rows come back a page at a time, packed by SQLite into one blob: per row a fixed header
 * (rowid 6 bytes, t 6, source 1, gpu 2, pid 4, dur 4 in µs, metrics length 2; big-endian, as
 * printf writes hex) then the row's packed metrics. better-sqlite3 allocates a Buffer for every
 * BLOB it returns, and that allocation was most of the report's time: one Buffer per page reads
 * an hour of 8 GPUs in about a third of the CPU.
 */
const HEAD = 25;
const NO_GPU = 0xffff;
const NO_DUR = 0xffffffff;
const PAGE = 4096;
const PACKED = `unhex(printf('%012X%012X%02X%04X%08X%08X%04X', rowid, t, source, ifnull(gpu, ${NO_GPU}), ifnull(pid, 0),
  ifnull(CAST(dur_ms * 1000 AS INTEGER), ${NO_DUR}), length(m))) || m`;
const AFTER = 'rid = ? AND hid = ? AND (t, rowid) > (?, ?) ORDER BY t, rowid LIMIT ?';

/**
 * The store as the report reads it (SqliteStore.reportReads()): samples a page at a time, and each
 * host's last sample time. The store keeps its handle private and hands this out.
 */
export class ReportReads {
  constructor(private readonly db: Database.Database) {}

  /**
   * A run's samples host by host (or of onlyHost) in time order, metrics decoded into slots
   * (`slotOf` names the slot of a metric, or -1): the report's row iterator.
   */
  forEachSampleRow(runId: string, slotOf: (metric: string) => number, slotCount: number, visit: (row: SampleRowView) => void, onlyHost?: string): void {
    forEachSampleRow(this.db, runId, slotOf, slotCount, visit, onlyHost);
  }

  /** Time of each host's last sample in a run (one index probe per host). */
  lastSampleTimes(runId: string): Map<string, number> {
    return lastSampleTimes(this.db, runId);
  }
}

// Statements are prepared per call: the fallback below iterates one, and a reused statement
// still iterating (a visit that reads again) could not run twice.
function forEachSampleRow(db: Database.Database, runId: string, slotOf: (metric: string) => number, slotCount: number, visit: (row: SampleRowView) => void, onlyHost?: string): void {
  const names = db.prepare('SELECT id, name FROM metric_names').all() as Array<{ id: number; name: string }>;
  const slotOfId = new Int16Array(names.reduce((a, n) => Math.max(a, n.id + 1), 0)).fill(-1);
  for (const n of names) slotOfId[n.id] = slotOf(n.name);
  const hosts = db
    .prepare('SELECT r.rid, h.hid, h.name FROM runs r JOIN run_hosts rh ON rh.rid = r.rid JOIN hosts h ON h.hid = rh.hid WHERE r.id = ? ORDER BY h.hid')
    .all(runId)
    .filter((h) => onlyHost === undefined || (h as { name: string }).name === onlyHost) as Array<{ rid: number; hid: number; name: string }>;
  // group_concat over an ordered subquery keeps its order in practice; page() checks, and a page
  // that came back out of order is read again row by row.
  const packed = db.prepare(`SELECT CAST(group_concat(x, '') AS BLOB) FROM (SELECT ${PACKED} AS x FROM samples WHERE ${AFTER})`).pluck(true);
  const rows = db.prepare(`SELECT CAST(${PACKED} AS BLOB) FROM samples WHERE ${AFTER}`).pluck(true);
  const view: SampleRowView = { host: '', t: 0, source: 'gpu', gpu: undefined, dur: undefined, pid: undefined, values: new Float64Array(slotCount) };
  for (const h of hosts) {
    view.host = h.name;
    const cursor = { t: -1, rowid: -1 };
    for (;;) {
      const args = [h.rid, h.hid, cursor.t, cursor.rowid, PAGE] as const;
      const blob = packed.get(...args) as Buffer | null;
      if (blob === null) break;
      if (!inOrder(blob)) {
        for (const one of rows.iterate(...args) as Iterable<Buffer>) page(one, slotOfId, view, cursor, visit);
      } else {
        page(blob, slotOfId, view, cursor, visit);
      }
    }
  }
}

const u48 = (dv: DataView, o: number): number => dv.getUint16(o) * 0x100000000 + dv.getUint32(o + 2);

function inOrder(b: Buffer): boolean {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let prevT = -1;
  let prevRow = -1;
  for (let o = 0; o + HEAD <= b.length; o += HEAD + dv.getUint16(o + 23)) {
    const row = u48(dv, o);
    const t = u48(dv, o + 6);
    if (t < prevT || (t === prevT && row <= prevRow)) return false;
    [prevT, prevRow] = [t, row];
  }
  return true;
}

/** Decodes a page of packed rows, calling visit for each; moves the cursor past the last. */
function page(b: Buffer, slotOfId: Int16Array, view: SampleRowView, cursor: { t: number; rowid: number }, visit: (row: SampleRowView) => void): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const v = view.values;
  let o = 0;
  while (o + HEAD <= b.length) {
    const len = dv.getUint16(o + 23);
    const end = o + HEAD + len;
    if (end > b.length || len % 10 !== 0) throw new StagewatchError('store-read', `packed sample rows: a row header at byte ${o} does not fit its page of ${b.length} bytes`);
    cursor.rowid = u48(dv, o);
    view.t = cursor.t = u48(dv, o + 6);
    view.source = SOURCES[dv.getUint8(o + 12)] as SampleSource;
    const gpu = dv.getUint16(o + 13);
    view.gpu = gpu === NO_GPU ? undefined : gpu;
    const pid = dv.getUint32(o + 15);
    view.pid = pid === 0 ? undefined : pid;
    const dur = dv.getUint32(o + 19);
    view.dur = dur === NO_DUR ? undefined : dur / 1000;
    v.fill(NaN);
    // Metrics as the codec packs them: (uint16 id, float64 value), little-endian.
    for (let p = o + HEAD; p < end; p += 10) {
      const id = dv.getUint16(p, true);
      const slot = id < slotOfId.length ? (slotOfId[id] as number) : -1;
      if (slot >= 0) v[slot] = dv.getFloat64(p + 2, true);
    }
    visit(view);
    o = end;
  }
  if (o !== b.length) throw new StagewatchError('store-read', `packed sample rows: ${b.length - o} bytes left over at the end of a page`);
}

function lastSampleTimes(db: Database.Database, runId: string): Map<string, number> {
  const hosts = db
    .prepare('SELECT r.rid, h.hid, h.name FROM runs r JOIN run_hosts rh ON rh.rid = r.rid JOIN hosts h ON h.hid = rh.hid WHERE r.id = ?')
    .all(runId) as Array<{ rid: number; hid: number; name: string }>;
  const last = db.prepare('SELECT max(t) AS t FROM samples WHERE rid = ? AND hid = ?');
  const out = new Map<string, number>();
  for (const h of hosts) {
    const r = last.get(h.rid, h.hid) as { t: number | null };
    if (r.t !== null) out.set(h.name, r.t);
  }
  return out;
}
