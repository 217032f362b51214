/**
 * The columnar batch frame: a binary WebSocket message carrying a batch with its samples as
 * column blocks (sample-blocks.ts), for collectors that say they take it (FRAMES_HEADER on the
 * upgrade). JSON parsing and validating one object per sample cost the collector more than
 * everything else it does with a sample; here the samples are a few bytes each and are checked
 * by decoding their columns.
 *
 *   frame  = 0x01, varint header length, header (JSON: the batch without `samples`, plus
 *            `names`, the metric names the blocks refer to by index), then blocks to the end
 *   block  = kind (source | 4 if durations | 8 if pids), n, metric count, name indexes,
 *            columns length, columns (sample-blocks.ts: GPU indexes or pids are a column)
 */
import { ByteReader, ByteWriter } from './column-codec.js';
import { StagewatchError } from './errors.js';
import { checkBlockColumns, encodeSampleBlocks, hasLanes, SOURCE_CODES, sourceOfCode, type SampleBlock } from './sample-blocks.js';
import type { Sample } from './sample.js';

export const FRAME_VERSION = 1;
/**
 * Response header of the collector's WebSocket upgrade: the frame kinds it takes besides JSON
 * text (`columnar`). An agent sends binary frames only where it is present, so agents and
 * collectors of either age still talk.
 */
export const FRAMES_HEADER = 'x-stagewatch-frames';
export const COLUMNAR = 'columnar';
/** The most samples one batch may carry (as BatchSchema's samples). */
export const MAX_BATCH_SAMPLES = 100_000;

const DUR = 4;
const PID = 8;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A batch (any object with `samples`) as a columnar frame. */
export function encodeBatchFrame(batch: { samples: readonly Sample[] } & Record<string, unknown>): Uint8Array {
  const w = new ByteWriter(16384);
  const { samples, ...fields } = batch;
  return encodeFrame(fields, encodeSampleBlocks(samples, w), w);
}

/** A columnar frame of a batch's other fields and its samples already in blocks. */
export function encodeFrame(fields: Record<string, unknown>, blocks: readonly SampleBlock[], w = new ByteWriter(16384)): Uint8Array {
  const names: string[] = [];
  const index = new Map<string, number>();
  for (const b of blocks) {
    for (const n of b.names) {
      if (!index.has(n)) {
        index.set(n, names.length);
        names.push(n);
      }
    }
  }
  const header = utf8.encode(JSON.stringify({ ...fields, names }));
  w.byte(FRAME_VERSION);
  w.varint(header.length);
  w.bytes(header);
  for (const b of blocks) {
    w.byte(SOURCE_CODES[b.source] | (b.hasDur ? DUR : 0) | (b.hasPid ? PID : 0));
    w.varint(b.n);
    w.varint(b.names.length);
    for (const n of b.names) w.varint(index.get(n) as number);
    w.varint(b.columns.length);
    w.bytes(b.columns);
  }
  return w.take();
}

/** A frame split into its header (parsed JSON, not yet validated) and where its blocks start. */
export function readFrameHeader(buf: Uint8Array): { header: unknown; blocksAt: number } {
  const r: ByteReader = new ByteReader(buf);
  const version = r.byte();
  if (version !== FRAME_VERSION) r.fail(`frame version ${version} (this collector reads ${FRAME_VERSION})`);
  const len = r.varint();
  if (r.pos + len > buf.length) r.fail(`header of ${len} bytes past the end`);
  let header: unknown;
  try {
    header = JSON.parse(fromUtf8.decode(buf.subarray(r.pos, r.pos + len)));
  } catch (e) {
    throw new StagewatchError('block-format', `header: ${(e as Error).message}`);
  }
  return { header, blocksAt: r.pos + len };
}

/**
 * The blocks of a frame, each checked as the JSON path checks samples: a gpu index on gpu
 * samples only, a pid on proc samples only, distinct metrics, and columns that decode whole
 * (times in order, finite values). Throws StagewatchError 'block-format' naming the block.
 */
export function readFrameBlocks(buf: Uint8Array, at: number, names: readonly string[]): SampleBlock[] {
  const r: ByteReader = new ByteReader(buf, at);
  const out: SampleBlock[] = [];
  let total = 0;
  const seen = new Int32Array(names.length).fill(-1);
  let scratch = [0, 1, 2].map(() => new Float64Array(1024));
  while (r.pos < buf.length) {
    const i = out.length;
    try {
      const kind = r.byte();
      const source = sourceOfCode(kind & 3);
      if (source === undefined || (kind & ~(3 | DUR | PID)) !== 0) r.fail(`block kind ${kind}`);
      const hasPid = (kind & PID) !== 0;
      if (hasPid && source !== 'proc') r.fail('pid is allowed on proc samples only');
      const n = r.varint();
      total += n;
      if (n === 0 || total > MAX_BATCH_SAMPLES) r.fail(n === 0 ? 'an empty block' : `more than ${MAX_BATCH_SAMPLES} samples`);
      const count = r.varint();
      if (count > names.length) r.fail(`${count} metrics of ${names.length} names`);
      const own: string[] = [];
      for (let j = 0; j < count; j++) {
        const k = r.varint();
        if (k >= names.length) r.fail(`name index ${k} of ${names.length}`);
        if (seen[k] === i) r.fail(`metric ${names[k]} twice`);
        seen[k] = i;
        own.push(names[k] as string);
      }
      const len = r.varint();
      const end = r.pos + len;
      if (end > buf.length) r.fail(`columns of ${len} bytes past the end`);
      const columns = buf.subarray(r.pos, end);
      const c: ByteReader = new ByteReader(buf, r.pos, end);
      if ((scratch[0] as Float64Array).length < n) scratch = scratch.map(() => new Float64Array(n));
      const hasDur = (kind & DUR) !== 0;
      const { tFirst, tLast, latest } = checkBlockColumns(c, n, count, hasDur, hasPid, hasLanes(source, hasPid), scratch);
      if (c.pos !== end) c.fail(`${end - c.pos} bytes left after the columns`);
      r.pos = end;
      out.push({ source, names: own, n, hasDur, hasPid, tFirst, tLast, latest, columns });
    } catch (e) {
      throw new StagewatchError('block-format', `blocks.${i}: ${(e as Error).message}`);
    }
  }
  return out;
}
