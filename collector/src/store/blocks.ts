import { ByteReader, hasLanes, Lanes, SOURCE_CODES, readBlockColumns, readInts, readValues, writeBlockColumns, writeColumnsMoved, writeInts, writeValues, type ByteWriter, type SampleBlock, type SampleSource } from '@stagewatch/shared';

/**
 * A block as the store keeps it (the `data` of a blocks row): flags, the metric ids of its
 * columns, ordinals where they are explicit, then the agent's columns (sample-blocks.ts) with the
 * first time moved onto the collector's clock. Run, host and source are the row's. Samples of a
 * host are read in (time, ordinal) order: a block's ordinals are its sink sequence numbers
 * (s0 + i) unless the block was made from old rows, whose rowids they keep, so stores upgraded
 * from rows read back in exactly the order they did.
 */
const HAS_DUR = 1;
const HAS_ORDS = 2;
const HAS_PID = 4;
/** A roll-up block (retention/): each metric's min and max columns follow its mean columns. */
const HAS_EXTREMES = 8;

export interface StoredBlock {
  ids: number[];
  hasPid: boolean;
  /** GPU index (gpu blocks) or pid (hasPid) of each sample, else null. */
  lane: Float64Array | null;
  t: Float64Array;
  /** Explicit ordinals, or null: s0 + i. */
  ord: Float64Array | null;
  dur: Float64Array | null;
  values: Float64Array[];
  /**
   * Roll-up blocks only: each metric's min and max over the readings a value stands for (the
   * value itself is their mean, under the metric's own name). Null in blocks of readings.
   */
  extremes?: { min: Float64Array[]; max: Float64Array[] } | null;
}

/** An agent's block for the store: metric names to ids, times moved by `shift` ms (an integer). */
export function storedBlob(b: SampleBlock, idOf: (name: string) => number, shift: number, w: ByteWriter): Uint8Array {
  w.varint((b.hasDur ? HAS_DUR : 0) | (b.hasPid ? HAS_PID : 0));
  w.varint(b.names.length);
  for (const n of b.names) w.varint(idOf(n));
  writeColumnsMoved(w, b, shift);
  return w.take();
}

/** A batch's block as either engine inserts it: times on the collector's clock, the blob encoded. */
export interface MovedBlock {
  t0: number;
  t1: number;
  n: number;
  source: number;
  data: Uint8Array;
}

/**
 * A batch's blocks moved onto the collector's clock (its clock offset, as one whole ms for every
 * time: Math.round(t - shift) for integer times t), and the batch's first time over blocks and
 * marks (where a run's data starts). Both engines store exactly this.
 */
export function movedBlocks(
  blocks: readonly SampleBlock[],
  batch: { clock: { offsetMs: number } | null; marks: ReadonlyArray<{ t: number }> },
  idOf: (name: string) => number,
  w: ByteWriter,
): { shift: number; first: number; blocks: MovedBlock[] } {
  const shift = batch.clock ? batch.clock.offsetMs : 0;
  const move = Math.round(-shift);
  let first = Infinity;
  const out: MovedBlock[] = [];
  for (const b of blocks) {
    const t0 = b.tFirst + move;
    if (t0 < first) first = t0;
    out.push({ t0, t1: b.tLast + move, n: b.n, source: SOURCE_CODES[b.source], data: storedBlob(b, idOf, move, w) });
  }
  for (const k of batch.marks) if (k.t - shift < first) first = Math.floor(k.t - shift);
  return { shift, first, blocks: out };
}

/**
 * Samples of old rows as a block (the upgrade from rows): columns in time order, rowids as
 * ordinals. Ordinals null: the block's readings are numbered from where it is stored (s0 + i).
 */
export function blobFromColumns(c: Omit<StoredBlock, 'ord'> & { ord: Float64Array | null }, n: number, w: ByteWriter): Uint8Array {
  w.varint((c.dur ? HAS_DUR : 0) | (c.ord ? HAS_ORDS : 0) | (c.hasPid ? HAS_PID : 0));
  w.varint(c.ids.length);
  for (const id of c.ids) w.varint(id);
  if (c.ord) writeInts(w, c.ord, n);
  writeBlockColumns(w, n, c.lane, c.t, c.dur, c.values.length, (j, out) => out.set(c.values[j] as Float64Array));
  return w.take();
}

/** Roll-up readings as a block (retention/rollup.ts): every reading has dur_ms; min and max columns follow. */
export function rollupBlob(c: Omit<StoredBlock, 'ord' | 'dur' | 'extremes'> & { dur: Float64Array; extremes: { min: Float64Array[]; max: Float64Array[] } }, n: number, w: ByteWriter): Uint8Array {
  w.varint(HAS_DUR | HAS_EXTREMES | (c.hasPid ? HAS_PID : 0));
  w.varint(c.ids.length);
  for (const id of c.ids) w.varint(id);
  writeBlockColumns(w, n, c.lane, c.t, c.dur, c.values.length, (j, out) => out.set(c.values[j] as Float64Array));
  const lanes = c.lane ? Lanes.of(c.lane, n) : new Lanes(null, 1);
  const scratch = new Float64Array(n);
  for (const col of [...c.extremes.min, ...c.extremes.max]) writeValues(w, col, n, scratch, lanes);
  return w.take();
}

export function decodeBlob(blob: Uint8Array, n: number, source: SampleSource): StoredBlock {
  const r = new ByteReader(blob);
  const flags = r.varint();
  const count = r.varint();
  const ids: number[] = [];
  for (let j = 0; j < count; j++) ids.push(r.varint());
  let ord: Float64Array | null = null;
  if (flags & HAS_ORDS) {
    ord = new Float64Array(n);
    readInts(r, n, ord);
  }
  const hasPid = (flags & HAS_PID) !== 0;
  const { lane, t, dur, values } = readBlockColumns(r, n, count, (flags & HAS_DUR) !== 0, hasLanes(source, hasPid));
  let extremes: StoredBlock['extremes'] = null;
  if (flags & HAS_EXTREMES) {
    const lanes = lane ? Lanes.of(lane, n) : new Lanes(null, 1);
    const col = (): Float64Array => {
      const v = new Float64Array(n);
      readValues(r, n, v, lanes);
      return v;
    };
    extremes = { min: ids.map(col), max: ids.map(col) };
  }
  if (r.pos !== blob.length) r.fail(`${blob.length - r.pos} bytes after a stored block`);
  return { ids, hasPid, lane, t, ord, dur, values, extremes };
}
