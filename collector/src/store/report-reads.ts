import type Database from 'better-sqlite3';
import type { SampleSource } from '@stagewatch/shared';
import type { BlockReads, HostBlock } from './block-reads.js';
import { resolutionsOf, type ResolutionSpan } from './retention/finest-rows.js';

/** One stored sample as the report reads it; the object and `values` are reused from row to row. */
export interface SampleRowView {
  host: string;
  t: number;
  source: SampleSource;
  gpu: number | undefined;
  dur: number | undefined;
  pid: number | undefined;
  values: Float64Array;
  /** A roll-up's (retention/): each slot's max over the readings it stands for, NaN where none; undefined for readings. */
  hi: Float64Array | undefined;
}

const HOSTS = 'SELECT r.rid, h.hid, h.name FROM runs r JOIN run_hosts rh ON rh.rid = r.rid JOIN hosts h ON h.hid = rh.hid WHERE r.id = ? ORDER BY h.hid';

/**
 * The store as the report reads it (SqliteStore.reportReads()): samples host by host in time
 * order, decoded from their blocks as they stream into a reused view (no object per sample), and
 * each host's last sample time. The store keeps its handle private and hands this out.
 */
export class ReportReads {
  constructor(
    private readonly stmt: (sql: string) => Database.Statement,
    private readonly blocks: BlockReads,
    private readonly nameOf: (id: number) => string,
  ) {}

  private hosts(runId: string): Array<{ rid: number; hid: number; name: string }> {
    return this.stmt(HOSTS).all(runId) as Array<{ rid: number; hid: number; name: string }>;
  }

  /**
   * A run's samples host by host (or of onlyHost), metrics decoded into slots (`slotOf` names the
   * slot of a metric, or -1): the report's row iterator. In (time, ordinal) order, or with
   * order 'block' block by block: nearly time order, each series in time order
   * (BlockReads.forEachByBlock), for readers that need no more, at a third less time.
   */
  forEachSampleRow(runId: string, slotOf: (metric: string) => number, slotCount: number, visit: (row: SampleRowView) => void, onlyHost?: string, order: 'time' | 'block' = 'time'): void {
    const slotById = new Map<number, number>();
    const slotsOf = (b: HostBlock): Int16Array => {
      const s = new Int16Array(b.ids.length);
      b.ids.forEach((id, j) => {
        let slot = slotById.get(id);
        if (slot === undefined) slotById.set(id, (slot = slotOf(this.nameOf(id))));
        s[j] = slot;
      });
      return s;
    };
    const view: SampleRowView = { host: '', t: 0, source: 'gpu', gpu: undefined, dur: undefined, pid: undefined, values: new Float64Array(slotCount), hi: undefined };
    const v = view.values;
    const hi = new Float64Array(slotCount);
    // The slots of the block visited last: consecutive samples mostly come from one block.
    let last: HostBlock | null = null;
    let slots: Int16Array = new Int16Array(0);
    const bySlots = new WeakMap<HostBlock, Int16Array>();
    for (const h of this.hosts(runId)) {
      if (onlyHost !== undefined && h.name !== onlyHost) continue;
      view.host = h.name;
      const each = (fn: (b: HostBlock, i: number) => void): void => (order === 'block' ? this.blocks.forEachByBlock(h.rid, h.hid, fn) : this.blocks.forEach(h.rid, h.hid, null, fn));
      each((b, i) => {
        if (b !== last) {
          last = b;
          slots = bySlots.get(b) ?? slotsOf(b);
          bySlots.set(b, slots);
          // Every row of a block writes the same slots, so the others need clearing only when
          // the block changes (block order: once per block; 26 M writes fewer an hour of 8 GPUs).
          v.fill(NaN);
          hi.fill(NaN);
        }
        view.t = b.t[i] as number;
        view.source = b.source;
        view.gpu = b.source === 'gpu' ? ((b.lane as Float64Array)[i] as number) : undefined;
        view.pid = b.hasPid ? ((b.lane as Float64Array)[i] as number) : undefined;
        // Durations to the microsecond, as the report has always read them (rows packed them so).
        view.dur = b.dur ? Math.trunc((b.dur[i] as number) * 1000) / 1000 : undefined;
        for (let j = 0; j < slots.length; j++) {
          const slot = slots[j] as number;
          if (slot >= 0) v[slot] = (b.values[j] as Float64Array)[i] as number;
        }
        const ext = b.extremes;
        view.hi = ext ? hi : undefined;
        if (ext) {
          for (let j = 0; j < slots.length; j++) {
            const slot = slots[j] as number;
            if (slot >= 0) hi[slot] = (ext.max[j] as Float64Array)[i] as number;
          }
        }
        visit(view);
      });
    }
  }

  /** Per host, the resolutions its readings are held at where any were rolled up (retention/); hosts all raw are left out. */
  resolutions(runId: string): Map<string, ResolutionSpan[]> {
    const out = new Map<string, ResolutionSpan[]>();
    for (const h of this.hosts(runId)) {
      const spans = resolutionsOf(this.stmt, h.rid, h.hid);
      if (spans.some((s) => s.resolution !== 'raw')) out.set(h.name, spans);
    }
    return out;
  }

  /** Time of each host's last sample in a run (one index probe per host). */
  lastSampleTimes(runId: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const h of this.hosts(runId)) {
      const t = this.blocks.lastTime(h.rid, h.hid);
      if (t !== null) out.set(h.name, t);
    }
    return out;
  }
}
