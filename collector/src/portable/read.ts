import { constants, gunzipSync } from 'node:zlib';
import { decodeRunFileHeader, decodeRunFileMessage, PROTOCOL_VERSION, RunFileError, type Batch, type Hello, type RunFileHeader } from '@stagewatch/shared';
// The same check a streamed batch passes (agent-connection.ts).
import { farFuture } from '../agent-connection.js';

/** Where a file was cut short (a crash, a full disk, an interrupted copy). */
export interface RunFileCut {
  /** What gunzip said. */
  reason: string;
  /** The last whole line before the cut. */
  lastWholeLine: number;
  /** Bytes of the line the cut went through, dropped. */
  droppedBytes: number;
}

/** A run file inflated and split: the header read, the other lines still raw (decoded when used). */
export interface RunFileText {
  file: string;
  header: RunFileHeader;
  /** Line 2 on; `no` is the line number in the file. Blank lines are left out. */
  lines: Array<{ no: number; text: Buffer }>;
  cut: RunFileCut | null;
}

/**
 * Inflates and splits a run file. A file cut short still inflates up to the cut (the agent
 * flushes gzip after every batch): that is returned with `cut` set, for the caller to refuse or,
 * asked to, keep. Damage inside the data (a CRC that does not match) is refused outright.
 */
export function splitRunFile(file: string, bytes: Buffer): RunFileText {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new RunFileError(`${file}: not a gzip file (a stagewatch run file is gzip'd JSON lines, starting with the bytes 1f 8b)`);
  }
  let data: Buffer;
  let reason: string | null = null;
  try {
    data = gunzipSync(bytes);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR') throw new RunFileError(`${file}: damaged gzip data (${(e as Error).message}); nothing imported`);
    reason = `gzip data ends early: ${(e as Error).message}`;
    data = gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
  }
  const raw: Buffer[] = [];
  for (let start = 0; start < data.length; ) {
    const nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl;
    raw.push(data.subarray(start, end));
    start = end + 1;
  }
  // What follows the last newline of a cut file is a line the cut went through.
  const tail = reason !== null && data.length > 0 && data[data.length - 1] !== 0x0a ? (raw.pop() as Buffer) : null;
  const first = raw[0];
  if (first === undefined) throw new RunFileError(`${file}: empty${reason ? ` (${reason})` : ''}: no header line`);
  const header = decodeRunFileHeader(first.toString('utf8'), `${file}: line 1`);
  const lines = raw.slice(1).map((text, i) => ({ no: i + 2, text })).filter((l) => l.text.length > 0);
  const cut = reason === null ? null : { reason, lastWholeLine: raw.length, droppedBytes: tail?.length ?? 0 };
  return { file, header, lines, cut };
}

/** One decoded line: a hello, or a batch with the hello of its agent. */
export type RunFileEntry = { no: number; hello: Hello } | { no: number; batch: Batch; of: Hello };

/**
 * Decodes every line as the collector decodes a frame (schema, protocol version, times not far
 * ahead of `now`), in order; each batch belongs to the hello before it. The first bad line is an
 * error naming the file, the line and the field.
 */
export function* runFileEntries(t: RunFileText, now: number): Generator<RunFileEntry> {
  let current: Hello | null = null;
  for (const { no, text } of t.lines) {
    const where = `${t.file}: line ${no}`;
    const msg = decodeRunFileMessage(text.toString('utf8'), where);
    if (msg.type === 'hello') {
      if (msg.protocol !== PROTOCOL_VERSION) throw new RunFileError(`${where}: hello: protocol ${msg.protocol} is not supported (this collector speaks ${PROTOCOL_VERSION})`);
      current = msg;
      yield { no, hello: msg };
      continue;
    }
    if (!current) throw new RunFileError(`${where}: a batch before any hello (whose agent is it?)`);
    const ahead = farFuture(msg, [], now);
    if (ahead) throw new RunFileError(`${where}: batch: ${ahead}`);
    yield { no, batch: msg, of: current };
  }
}
