/**
 * Samples as column blocks: the samples of one batch that share a series (source, GPU, pid) and
 * the same metrics, in time order, each field a column (column-codec.ts). Agents send them
 * (batch-frame.ts) and the collector stores them as they came, so a sample is encoded once, by
 * the agent, and decoded only when read.
 */
import { ByteReader, ByteWriter, readTimes, readValues, writeTimes, writeValues } from './column-codec.js';
import { StagewatchError } from './errors.js';
import { SAMPLE_SOURCES, type Sample, type SampleSource } from './sample.js';

export interface SampleBlock {
  source: SampleSource;
  gpu?: number;
  pid?: number;
  /** Metric names in column order: each sample's `m` keys, in its order. */
  names: readonly string[];
  n: number;
  /** Whether every sample has dur_ms (a block holds samples that all have it, or none). */
  hasDur: boolean;
  /** First and last time, as the agent stamped them: samples are in time order. */
  tFirst: number;
  tLast: number;
  /** The last sample's values, in column order: the latest readings, without decoding the block. */
  last: readonly number[];
  /** Times, then durations where hasDur, then one column per metric (column-codec.ts). */
  columns: Uint8Array;
}

/** A block's columns decoded: times, durations (or null) and one array per metric. */
export interface BlockColumns {
  t: Float64Array;
  dur: Float64Array | null;
  values: Float64Array[];
}

export const SOURCE_CODES: Readonly<Record<SampleSource, number>> = { gpu: 0, host: 1, proc: 2 };

/** Longest interval a reading may cover, ms (Sample.dur_ms). */
const MAX_DUR_MS = 3_600_000;

const sameNames = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Groups samples into blocks, in order of each block's first sample; within a block samples keep
 * their order, sorted by time where they were not already (a stable sort).
 */
export function encodeSampleBlocks(samples: readonly Sample[], w = new ByteWriter()): SampleBlock[] {
  // By series, then by metric names: a series has a few sets of metrics (an NVML tick, its
  // once-a-second readings, GPM), compared name by name rather than joined into a key per sample.
  const bySeries = new Map<string, Array<{ names: string[]; idx: number[] }>>();
  const groups: Array<{ names: string[]; idx: number[] }> = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as Sample;
    // The time column holds whole ms (what the schema allows); anything else is not encoded.
    if (!Number.isSafeInteger(s.t) || s.t < 0) throw new StagewatchError('block-format', `samples.${i}.t ${s.t} is not a whole non-negative ms`);
    if (SOURCE_CODES[s.source] === undefined) throw new StagewatchError('block-format', `samples.${i}.source ${JSON.stringify(s.source)} is not a source`);
    const names = Object.keys(s.m);
    const series = `${s.source}|${s.gpu ?? ''}|${s.pid ?? ''}|${s.dur_ms === undefined ? 0 : 1}`;
    let sets = bySeries.get(series);
    if (!sets) bySeries.set(series, (sets = []));
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
  let scratch = new Float64Array(256);
  let col = new Float64Array(256);
  for (const { names, idx } of groups) {
    const n = idx.length;
    if (scratch.length < n) [scratch, col] = [new Float64Array(n * 2), new Float64Array(n * 2)];
    for (let i = 1; i < n; i++) {
      if ((samples[idx[i] as number] as Sample).t < (samples[idx[i - 1] as number] as Sample).t) {
        idx.sort((a, b) => (samples[a] as Sample).t - (samples[b] as Sample).t || a - b);
        break;
      }
    }
    const first = samples[idx[0] as number] as Sample;
    for (let i = 0; i < n; i++) col[i] = (samples[idx[i] as number] as Sample).t;
    writeTimes(w, col, n, scratch);
    if (first.dur_ms !== undefined) {
      for (let i = 0; i < n; i++) col[i] = (samples[idx[i] as number] as Sample).dur_ms as number;
      writeValues(w, col, 0, n, scratch);
    }
    for (const name of names) {
      for (let i = 0; i < n; i++) col[i] = (samples[idx[i] as number] as Sample).m[name] as number;
      writeValues(w, col, 0, n, scratch);
    }
    const block: SampleBlock = {
      source: first.source,
      names,
      n,
      hasDur: first.dur_ms !== undefined,
      tFirst: first.t,
      tLast: (samples[idx[n - 1] as number] as Sample).t,
      last: names.map((name) => (samples[idx[n - 1] as number] as Sample).m[name] as number),
      columns: w.take(),
    };
    if (first.gpu !== undefined) block.gpu = first.gpu;
    if (first.pid !== undefined) block.pid = first.pid;
    out.push(block);
  }
  return out;
}

/**
 * Decodes a block's columns (`r` positioned at them), checking them as it goes: times
 * non-negative integers in order, durations within 0..1 h, values finite. Returns the columns.
 */
export function readBlockColumns(r: ByteReader, n: number, metrics: number, hasDur: boolean): BlockColumns {
  const t = new Float64Array(n);
  readTimes(r, n, t);
  let dur: Float64Array | null = null;
  if (hasDur) {
    dur = new Float64Array(n);
    readValues(r, n, dur);
    for (let i = 0; i < n; i++) if ((dur[i] as number) < 0 || (dur[i] as number) > MAX_DUR_MS) r.fail(`dur_ms ${dur[i]} outside 0..${MAX_DUR_MS}`);
  }
  const values: Float64Array[] = [];
  for (let j = 0; j < metrics; j++) {
    const v = new Float64Array(n);
    readValues(r, n, v);
    values.push(v);
  }
  return { t, dur, values };
}

/**
 * Checks a block's columns as readBlockColumns does, and that times are not negative, without keeping them (times and durations
 * pass through `scratch`, of at least n): the collector's check of what an agent sent.
 */
export function checkBlockColumns(r: ByteReader, n: number, metrics: number, hasDur: boolean, scratch: Float64Array): { tFirst: number; tLast: number; last: number[] } {
  const tLast = readTimes(r, n, scratch);
  const tFirst = scratch[0] as number;
  if (tFirst < 0) r.fail(`time ${tFirst} before 1970`);
  if (hasDur) {
    readValues(r, n, scratch);
    for (let i = 0; i < n; i++) if ((scratch[i] as number) < 0 || (scratch[i] as number) > MAX_DUR_MS) r.fail(`dur_ms ${scratch[i]} outside 0..${MAX_DUR_MS}`);
  }
  const last: number[] = [];
  for (let j = 0; j < metrics; j++) last.push(readValues(r, n, null));
  return { tFirst, tLast, last };
}

/** A block back into samples of `host`, fields as the store gives them back (StoredSample). */
export function decodeSampleBlock(b: SampleBlock, host: string): Sample[] {
  const r: ByteReader = new ByteReader(b.columns);
  const c = readBlockColumns(r, b.n, b.names.length, b.hasDur);
  const out: Sample[] = [];
  for (let i = 0; i < b.n; i++) {
    const m: Record<string, number> = {};
    for (let j = 0; j < b.names.length; j++) m[b.names[j] as string] = (c.values[j] as Float64Array)[i] as number;
    const s: Sample = { t: c.t[i] as number, host, source: b.source, m };
    if (b.gpu !== undefined) s.gpu = b.gpu;
    if (c.dur) s.dur_ms = c.dur[i] as number;
    if (b.pid !== undefined) s.pid = b.pid;
    out.push(s);
  }
  return out;
}

/** Each block's last sample (from `last`, nothing decoded), in time order: the latest readings of a batch. */
export function lastSamples(blocks: readonly SampleBlock[], host: string): Sample[] {
  const out = blocks.map((b) => {
    const m: Record<string, number> = {};
    b.names.forEach((name, j) => (m[name] = b.last[j] as number));
    const s: Sample = { t: b.tLast, host, source: b.source, m };
    if (b.gpu !== undefined) s.gpu = b.gpu;
    if (b.pid !== undefined) s.pid = b.pid;
    return s;
  });
  return out.sort((x, y) => x.t - y.t);
}

export const sourceOfCode = (code: number): SampleSource | undefined => SAMPLE_SOURCES[code];

/** The length of the zigzag varint a block's columns start with (its first time). */
function firstTimeBytes(columns: Uint8Array): number {
  let i = 0;
  while (i < columns.length && (columns[i] as number) >= 0x80) i++;
  return i + 1;
}

/**
 * Writes a block's columns with every time moved by `ms` (a whole number): times after the first
 * are deltas, so only the first is written anew and the rest copied. The store moves agent times
 * onto its clock this way.
 */
export function writeColumnsMoved(w: ByteWriter, b: SampleBlock, ms: number): void {
  w.zz(b.tFirst + ms);
  w.bytes(b.columns.subarray(firstTimeBytes(b.columns)));
}

/** A block with every time moved by `ms` (a whole number), its columns copied. */
export function moveBlock(b: SampleBlock, ms: number, w = new ByteWriter(b.columns.length + 8)): SampleBlock {
  writeColumnsMoved(w, b, ms);
  return { ...b, tFirst: b.tFirst + ms, tLast: b.tLast + ms, columns: w.take() };
}
