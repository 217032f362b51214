import { z } from 'zod';
import { StagewatchError } from './errors.js';
import { BatchSchema, HelloSchema, type Batch, type Hello } from './protocol.js';

/**
 * A portable run (docs/PORTABLE.md): gzip'd JSON lines. Line 1 is the header below; every other
 * line is a wire message exactly as an agent streams it (`hello`, then its `batch`es; a batch
 * belongs to the agent of the hello before it). Reusing the wire messages is what lets an
 * imported file go through the same checks and the same exactly-once store path as a stream.
 */
export const RUN_FILE_FORMAT = 'stagewatch-run';
export const RUN_FILE_VERSION = 1;
/** The file name ending the agent and `export` suggest; any name is read. */
export const RUN_FILE_SUFFIX = '.swrun.gz';

export const RunFileHeaderSchema = z.strictObject({
  format: z.literal(RUN_FILE_FORMAT),
  version: z.literal(RUN_FILE_VERSION),
  /** `agent`: recorded by `run/sample/daemon --out`; `export`: written from a collector's store. */
  origin: z.enum(['agent', 'export']),
  /** The program and version that wrote it (`stagewatch-agent 0.1.0`). */
  writer: z.string().min(1).max(128),
  /** Epoch ms when writing began. */
  createdAt: z.number().int().nonnegative(),
  /** The run it holds: an agent's run id (null: the host's timeline), or the exported run's id (`timeline:HOST` too). */
  runId: z.string().min(1).max(300).nullable(),
});
export type RunFileHeader = z.infer<typeof RunFileHeaderSchema>;

/** What may follow the header: the agent messages that carry data (pings have no place in a file). */
export const RunFileMessageSchema = z.discriminatedUnion('type', [HelloSchema, BatchSchema]);
export type RunFileMessage = Hello | Batch;

/** A file that cannot be read as a run file: `message` names the file, the line and the field. */
export class RunFileError extends StagewatchError {
  constructor(message: string) {
    super('run-file', message);
  }
}

/** A zod path as a reader writes it: `samples[3].m.util_pct`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out || '(root)';
}

const issueText = (e: z.ZodError): string => {
  const i = e.issues[0];
  return `${fieldPath(i?.path ?? [])}: ${i?.message ?? 'does not match the schema'}`;
};

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RunFileError(`${where}: invalid JSON: ${(e as Error).message}`);
  }
}

/**
 * The header line, checked in the order that gives the most useful refusal: not a run file at
 * all, then a version this reader does not know (before its fields, which a later version may
 * have changed), then the fields.
 */
export function decodeRunFileHeader(text: string, where: string): RunFileHeader {
  const raw = parseJson(text, where);
  const o = (raw !== null && typeof raw === 'object' ? raw : {}) as { format?: unknown; version?: unknown };
  if (o.format !== RUN_FILE_FORMAT) throw new RunFileError(`${where}: not a stagewatch run file (the first line has no "format":"${RUN_FILE_FORMAT}")`);
  if (o.version !== RUN_FILE_VERSION) {
    throw new RunFileError(`${where}: version ${JSON.stringify(o.version)} is not supported (this reader knows version ${RUN_FILE_VERSION}; a newer stagewatch wrote it?)`);
  }
  const p = RunFileHeaderSchema.safeParse(raw);
  if (!p.success) throw new RunFileError(`${where}: header: ${issueText(p.error)}`);
  return p.data;
}

/** One line after the header: a hello or a batch, validated as the collector validates a frame. */
export function decodeRunFileMessage(text: string, where: string): RunFileMessage {
  const raw = parseJson(text, where);
  const type = (raw as { type?: unknown } | null)?.type;
  if (type !== 'hello' && type !== 'batch') {
    throw new RunFileError(`${where}: type: expected "hello" or "batch", got ${typeof type === 'string' ? JSON.stringify(type.slice(0, 32)) : typeof type}`);
  }
  const p = RunFileMessageSchema.safeParse(raw);
  if (!p.success) throw new RunFileError(`${where}: ${type}: ${issueText(p.error)}`);
  return p.data as RunFileMessage;
}

export function encodeRunFileHeader(h: RunFileHeader): string {
  return `${JSON.stringify(RunFileHeaderSchema.parse(h))}\n`;
}
