/**
 * Samples as column blocks: the samples of one batch that share a source and the same metrics
 * (and have dur_ms or a pid, or not), in time order, each field a column (column-codec.ts). The
 * GPUs of a gpu block, and the processes of a per-process block, are its lanes: a GPU index or
 * pid per sample, and each value coded against its own lane's last. Agents send blocks
 * (batch-frame.ts) and the collector stores them as they came, so a sample is encoded once, by
 * the agent, and decoded only when read.
 */
import { ByteReader, ByteWriter, Lanes, readInts, readTimeSteps, readValues, writeInts, writeTimeSteps, writeValues } from './column-codec.js';
import { StagewatchError } from './errors.js';
import { SAMPLE_SOURCES, type Sample, type SampleSource } from './sample.js';

/** A lane's latest reading in a block: its GPU index or pid (none for host and tree samples), time and values. */
export interface LaneLatest {
  lane: number | undefined;
  t: number;
  values: readonly number[];
}

export interface SampleBlock {
  source: SampleSource;
  /** Metric names in column order: each sample's `m` keys, in its order. */
  names: readonly string[];
  n: number;
  /** Whether every sample has dur_ms (a block holds samples that all have it, or none). */
  hasDur: boolean;
  /** Whether every sample has a pid (per-process samples); gpu samples always have a GPU index. */
  hasPid: boolean;
  /** First and last time, as the agent stamped them: samples are in time order. */
  tFirst: number;
  tLast: number;
  /** Each lane's last sample: the latest readings, without decoding the block. */
  latest: readonly LaneLatest[];
  /**
   * The first time (so moving a block's times rewrites its first bytes only), GPU indexes or pids
   * where the block has lanes, the other times, durations where hasDur, then one column per metric.
   */
  columns: Uint8Array;
}

/** A block's columns decoded. */
export interface BlockColumns {
  /** GPU index or pid of each sample, or null (host and tree samples). */
  lane: Float64Array | null;
  t: Float64Array;
  dur: Float64Array | null;
  values: Float64Array[];
}

export const SOURCE_CODES: Readonly<Record<SampleSource, number>> = { gpu: 0, host: 1, proc: 2 };
export const sourceOfCode = (code: number): SampleSource | undefined => SAMPLE_SOURCES[code];
/** Whether a block of this source and pid flag has a lane column. */
export const hasLanes = (source: SampleSource, hasPid: boolean): boolean => source === 'gpu' || hasPid;

/** Longest interval a reading may cover, ms (Sample.dur_ms). */
const MAX_DUR_MS = 3_600_000;

const sameNames = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The index of each lane's last sample. */
function lastOfLanes(lanes: Lanes, n: number): number[] {
  const lastOf = new Array<number>(lanes.count).fill(0);
  for (let i = 0; i < n; i++) lastOf[lanes.of ? (lanes.of[i] as number) : 0] = i;
  return lastOf;
}

/**
 * Writes the columns of a block of n samples in time order (SampleBlock.columns): `lane` its GPU
 * indexes or pids (null: none), `fill(j, out)` puts metric j's values into out. Returns the index
 * of each lane's last sample.
 */
export function writeBlockColumns(w: ByteWriter, n: number, lane: Float64Array | null, t: ArrayLike<number>, dur: ArrayLike<number> | null, metrics: number, fill: (j: number, out: Float64Array) => void): number[] {
  const col = new Float64Array(n);
  const scratch = new Float64Array(n);
  w.zz(t[0] as number);
  if (lane) writeInts(w, lane, n);
  const lanes = lane ? Lanes.of(lane, n) : new Lanes(null, 1);
  writeTimeSteps(w, t, n, lanes);
  if (dur) writeValues(w, dur, n, scratch, lanes);
  for (let j = 0; j < metrics; j++) {
    fill(j, col);
    writeValues(w, col, n, scratch, lanes);
  }
  return lastOfLanes(lanes, n);
}

/**
 * Groups samples into blocks, in order of each block's first sample; within a block samples keep
 * their order, sorted by time where they were not already (a stable sort).
 */
export function encodeSampleBlocks(samples: readonly Sample[], w = new ByteWriter()): SampleBlock[] {
  // By kind, then by metric names: a source has a few sets of metrics (an NVML tick, its
  // once-a-second readings, GPM), compared name by name rather than joined into a key per sample.
  const byKind = new Map<string, Array<{ names: string[]; idx: number[] }>>();
  const groups: Array<{ names: string[]; idx: number[] }> = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as Sample;
    // What the columns cannot hold is refused here, never stored as something else.
    if (!Number.isSafeInteger(s.t) || s.t < 0) throw new StagewatchError('block-format', `samples.${i}.t ${s.t} is not a whole non-negative ms`);
    if (SOURCE_CODES[s.source] === undefined) throw new StagewatchError('block-format', `samples.${i}.source ${JSON.stringify(s.source)} is not a source`);
    if ((s.source === 'gpu') !== (s.gpu !== undefined) || (s.pid !== undefined && s.source !== 'proc')) {
      throw new StagewatchError('block-format', `samples.${i}: a gpu index on gpu samples only, a pid on proc samples only`);
    }
    const names = Object.keys(s.m);
    const kind = `${s.source}|${s.pid === undefined ? 0 : 1}|${s.dur_ms === undefined ? 0 : 1}`;
    let sets = byKind.get(kind);
    if (!sets) byKind.set(kind, (sets = []));
    const g = sets.find((x) => sameNames(x.names, names));
    if (g) {
      g.idx.push(i);
    } else {
      const fresh = { names, idx: [i] };
      sets.push(fresh);
      groups.push(fresh);
    }
  }
  const out: SampleBlock[] = [];
  for (const { names, idx } of groups) {
    const n = idx.length;
    for (let i = 1; i < n; i++) {
      if ((samples[idx[i] as number] as Sample).t < (samples[idx[i - 1] as number] as Sample).t) {
        idx.sort((a, b) => (samples[a] as Sample).t - (samples[b] as Sample).t || a - b);
        break;
      }
    }
    const at = (i: number): Sample => samples[idx[i] as number] as Sample;
    const first = at(0);
    const hasPid = first.pid !== undefined;
    const laneValues = hasLanes(first.source, hasPid) ? Float64Array.from(idx, (k) => ((samples[k] as Sample).gpu ?? (samples[k] as Sample).pid) as number) : null;
    const t = Float64Array.from(idx, (k) => (samples[k] as Sample).t);
    const dur = first.dur_ms === undefined ? null : Float64Array.from(idx, (k) => (samples[k] as Sample).dur_ms as number);
    const lastOf = writeBlockColumns(w, n, laneValues, t, dur, names.length, (j, col) => {
      const name = names[j] as string;
      for (let i = 0; i < n; i++) col[i] = at(i).m[name] as number;
    });
    out.push({
      source: first.source,
      names,
      n,
      hasDur: first.dur_ms !== undefined,
      hasPid,
      tFirst: first.t,
      tLast: at(n - 1).t,
      latest: lastOf.map((i) => ({ lane: laneValues ? laneValues[i] : undefined, t: at(i).t, values: names.map((name) => at(i).m[name] as number) })),
      columns: w.take(),
    });
  }
  return out;
}

/** Reads a block's lane column (where it has one) into `lane` and its times into `t`; returns its lanes. */
function readHead(r: ByteReader, n: number, withLanes: boolean, lane: Float64Array, t: Float64Array): Lanes {
  t[0] = r.zz();
  let lanes = new Lanes(null, 1);
  if (withLanes) {
    readInts(r, n, lane);
    for (let i = 0; i < n; i++) if (!Number.isSafeInteger(lane[i]) || (lane[i] as number) < 0) r.fail(`lane ${lane[i]} is not a GPU index or pid`);
    lanes = Lanes.of(lane, n);
  }
  readTimeSteps(r, n, t, lanes);
  return lanes;
}

function readDur(r: ByteReader, n: number, dur: Float64Array, lanes: Lanes): void {
  readValues(r, n, dur, lanes);
  for (let i = 0; i < n; i++) if ((dur[i] as number) < 0 || (dur[i] as number) > MAX_DUR_MS) r.fail(`dur_ms ${dur[i]} outside 0..${MAX_DUR_MS}`);
}

/**
 * Decodes a block's columns (`r` positioned at them), checking them as it goes: GPU indexes and
 * pids whole numbers, times integers in order, durations within 0..1 h, values finite.
 */
export function readBlockColumns(r: ByteReader, n: number, metrics: number, hasDur: boolean, withLanes: boolean): BlockColumns {
  const lane = withLanes ? new Float64Array(n) : null;
  const t = new Float64Array(n);
  const lanes = readHead(r, n, withLanes, lane ?? t, t);
  let dur: Float64Array | null = null;
  if (hasDur) readDur(r, n, (dur = new Float64Array(n)), lanes);
  const values: Float64Array[] = [];
  for (let j = 0; j < metrics; j++) {
    const v = new Float64Array(n);
    readValues(r, n, v, lanes);
    values.push(v);
  }
  return { lane, t, dur, values };
}

/**
 * Checks a block's columns as readBlockColumns does, and that times are not negative and pids
 * not 0, keeping only each lane's latest reading (lanes, times and durations pass through
 * `scratch`: three arrays of at least n, reused): the collector's check of what an agent sent.
 */
export function checkBlockColumns(
  r: ByteReader,
  n: number,
  metrics: number,
  hasDur: boolean,
  hasPid: boolean,
  withLanes: boolean,
  scratch: readonly Float64Array[],
): { tFirst: number; tLast: number; latest: LaneLatest[] } {
  const [lane, t, dur] = scratch as [Float64Array, Float64Array, Float64Array];
  const lanes = readHead(r, n, withLanes, lane, t);
  if ((t[0] as number) < 0) r.fail(`time ${t[0]} before 1970`);
  if (hasPid && lane.subarray(0, n).includes(0)) r.fail('pid 0');
  if (hasDur) readDur(r, n, dur, lanes);
  const latest = lastOfLanes(lanes, n).map((i) => ({ lane: withLanes ? (lane[i] as number) : undefined, t: t[i] as number, values: [] as number[] }));
  for (let j = 0; j < metrics; j++) {
    readValues(r, n, null, lanes);
    for (let l = 0; l < latest.length; l++) (latest[l] as { values: number[] }).values.push(lanes.prev[l] as number);
  }
  return { tFirst: t[0] as number, tLast: t[n - 1] as number, latest };
}

/** A block back into samples of `host`, fields as the store gives them back (StoredSample). */
export function decodeSampleBlock(b: SampleBlock, host: string): Sample[] {
  const c = readBlockColumns(new ByteReader(b.columns), b.n, b.names.length, b.hasDur, hasLanes(b.source, b.hasPid));
  const out: Sample[] = [];
  for (let i = 0; i < b.n; i++) {
    const m: Record<string, number> = {};
    for (let j = 0; j < b.names.length; j++) m[b.names[j] as string] = (c.values[j] as Float64Array)[i] as number;
    const s: Sample = { t: c.t[i] as number, host, source: b.source, m };
    if (b.source === 'gpu') s.gpu = (c.lane as Float64Array)[i] as number;
    if (c.dur) s.dur_ms = c.dur[i] as number;
    if (b.hasPid) s.pid = (c.lane as Float64Array)[i] as number;
    out.push(s);
  }
  return out;
}

/** Each block's lanes' latest samples (nothing decoded), in time order: the latest readings of a batch. */
export function lastSamples(blocks: readonly SampleBlock[], host: string): Sample[] {
  const out: Sample[] = [];
  for (const b of blocks) {
    for (const x of b.latest) {
      const m: Record<string, number> = {};
      b.names.forEach((name, j) => (m[name] = x.values[j] as number));
      const s: Sample = { t: x.t, host, source: b.source, m };
      if (b.source === 'gpu') s.gpu = x.lane;
      if (b.hasPid) s.pid = x.lane;
      out.push(s);
    }
  }
  return out.sort((x, y) => x.t - y.t);
}

/**
 * Writes a block's columns with every time moved by `ms` (a whole number): times after the first
 * are steps, so only the first (the columns' first varint) is written anew and the rest copied.
 * The store moves agent times onto its clock this way.
 */
export function writeColumnsMoved(w: ByteWriter, b: SampleBlock, ms: number): void {
  let i = 0;
  while (i < b.columns.length && (b.columns[i] as number) >= 0x80) i++;
  w.zz(b.tFirst + ms);
  w.bytes(b.columns.subarray(i + 1));
}

/** A block with every time moved by `ms` (a whole number), its columns copied. */
export function moveBlock(b: SampleBlock, ms: number, w = new ByteWriter(b.columns.length + 8)): SampleBlock {
  writeColumnsMoved(w, b, ms);
  return { ...b, tFirst: b.tFirst + ms, tLast: b.tLast + ms, latest: b.latest.map((x) => ({ ...x, t: x.t + ms })), columns: w.take() };
}
