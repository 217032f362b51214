import { closeSync, createWriteStream, openSync } from 'node:fs';
import { once } from 'node:events';
import { constants, createGzip } from 'node:zlib';
import { encodeRunFileHeader, errorMessage, RUN_FILE_VERSION, RUN_FILE_FORMAT, UsageError, type Hello } from '@stagewatch/shared';
import type { Spool } from './spool.js';

export interface RunFileSummary {
  file: string;
  batches: number;
  /** Why the file is incomplete (a write failed), or null. */
  error: string | null;
}

/**
 * `--out FILE`: the wire messages this agent streams (or would stream), written as a portable run
 * file (shared/src/run-file.ts): header, hello, batches. Each batch is written once, by seq, and
 * the gzip stream is flushed after it, so a file cut short by a crash or a full disk still
 * decompresses up to its last whole batch (`import --partial` takes those).
 */
export class RunFileWriter {
  private readonly gzip = createGzip();
  private readonly finished: Promise<void>;
  private readonly written = new Set<number>();
  private helloSeen = false;
  private error: string | null = null;
  batches = 0;

  private constructor(readonly file: string, fd: number, runId: string | null, writer: string, private readonly log: (msg: string) => void) {
    const out = createWriteStream('', { fd });
    this.gzip.pipe(out);
    const fail = (e: Error): void => {
      if (this.error !== null) return;
      this.error = errorMessage(e);
      this.log(`ERROR: writing ${file} failed (${this.error}); the file ends at the last batch written before it`);
    };
    this.gzip.on('error', fail);
    out.on('error', fail);
    this.finished = once(out, 'close').then(() => undefined, () => undefined);
    this.gzip.write(encodeRunFileHeader({ format: RUN_FILE_FORMAT, version: RUN_FILE_VERSION, origin: 'agent', writer, createdAt: Date.now(), runId }));
  }

  /** Creates FILE, which must not exist yet: a recording is never overwritten. */
  static create(file: string, runId: string | null, writer: string, log: (msg: string) => void): RunFileWriter {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`--out ${file}: ${code === 'EEXIST' ? 'exists already; give a new file name (a recording is never overwritten)' : (code ?? errorMessage(e))}`);
    }
    try {
      return new RunFileWriter(file, fd, runId, writer, log);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** The agent's hello, each time it is (re)built; batches written after it belong to it. */
  hello(h: Hello): void {
    this.helloSeen = true;
    this.line(JSON.stringify(h));
  }

  has(seq: number): boolean {
    return this.written.has(seq);
  }

  /** A batch frame as sent (clock in front); a seq already written is skipped, as the collector skips it. */
  batch(seq: number, frame: string): void {
    if (this.written.has(seq)) return;
    // The import reads a batch as its hello's: one written before any hello would be unreadable.
    if (!this.helloSeen) throw new Error(`batch ${seq} before the hello in ${this.file}`);
    this.written.add(seq);
    this.line(frame);
    this.batches++;
  }

  private line(text: string): void {
    if (this.error !== null) return;
    this.gzip.write(`${text}\n`);
    this.gzip.flush(constants.Z_SYNC_FLUSH);
  }

  async close(): Promise<RunFileSummary> {
    this.gzip.end();
    await this.finished;
    return { file: this.file, batches: this.batches, error: this.error };
  }
}

/**
 * Moves this process's spooled batches into the run file. Offline (`--out` without `--collector`)
 * it stands in for CollectorClient: once the hello is written (start), each batch spooled goes
 * into the file and leaves the spool. Beside a collector it only copies, at the end, what the
 * collector has not been sent, so the file holds the whole run while the spool keeps it for the
 * collector. Batches an earlier run left spooled are not this file's: they stay for their collector.
 */
export class RunFileSender {
  private started = false;
  private readonly earlier: ReadonlySet<number>;

  constructor(
    private readonly spool: Spool,
    private readonly out: RunFileWriter,
  ) {
    this.earlier = new Set(spool.pendingSeqs());
  }

  start(): void {
    this.started = true;
    this.copy(true);
  }

  /** A batch was spooled (the Streamer's call, as to CollectorClient). */
  notify(): void {
    if (this.started) this.copy(true);
  }

  /** Writes this process's pending batches not yet in the file (clock null: none was sent); `ack` drops them from the spool. */
  copy(ack: boolean): void {
    for (const seq of this.spool.pendingSeqs()) {
      if (this.earlier.has(seq) || this.out.has(seq)) continue;
      const body = this.spool.read(seq);
      if (body === null) continue;
      this.out.batch(seq, `{"clock":null,${body.slice(1)}`);
      if (ack) this.spool.ack(seq);
    }
  }
}

/** Where a link's batches go, for the agent's start line. */
export function destination(collector: string | null, out: string | undefined): string {
  if (collector === null) return `${out ?? '(nowhere)'} (no collector: import it with stagewatch-collector import)`;
  return out === undefined ? collector : `${collector} and ${out}`;
}
