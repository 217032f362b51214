import { closeSync, createWriteStream, openSync } from 'node:fs';
import { once } from 'node:events';
import { constants, createGzip } from 'node:zlib';
import { encodeRunFileHeader, errorMessage, Once, RUN_FILE_VERSION, RUN_FILE_FORMAT, UsageError, type Hello } from '@stagewatch/shared';
import type { BatchExporter } from './exporter.js';

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
      throw code === 'EEXIST' ? outExists(file) : new UsageError(`--out ${file}: ${code ?? errorMessage(e)}`);
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

/** What the run file exporter needs of the spool. */
export interface RunFileSpool {
  pendingSeqs(): number[];
  /** The batch text, or null when damaged (the spool has quarantined it). */
  read(seq: number): string | null;
  ack(seq: number): void;
}

/**
 * `--out FILE` as an exporter of spooled batches, beside the collector's or in its place.
 * - Alone (`--out` without `--collector`, `sole`): once the hello is written (start), each batch
 *   spooled goes into the file and leaves the spool, as an acknowledged batch would.
 * - Beside a collector: the collector's client hands over each frame it sends (`sent`, clock
 *   estimate included), so the file holds what the collector got; at the end (forceFlush) what it
 *   was never sent is copied without a clock and stays spooled for the collector.
 * Batches an earlier run left spooled are not this file's: they stay for their collector.
 */
export class RunFileExporter implements BatchExporter {
  private started = false;
  private readonly earlier: ReadonlySet<number>;
  private readonly closing: Once<[], RunFileSummary>;

  constructor(
    private readonly spool: RunFileSpool,
    private readonly writer: RunFileWriter,
    private readonly sole: boolean,
  ) {
    this.earlier = new Set(spool.pendingSeqs());
    this.closing = new Once(() => writer.close());
  }

  /** The agent's hello, once known: written before any batch; alone, what was spooled meanwhile follows. */
  start(hello: Hello): void {
    if (this.closing.called) return;
    this.writer.hello(hello);
    this.started = true;
    if (this.sole) this.copy();
  }

  /** A batch frame the collector was sent. */
  sent(seq: number, frame: string): void {
    if (!this.closing.called) this.writer.batch(seq, frame);
  }

  export(_seq: number): void {
    if (this.sole && this.started) this.copy();
  }

  /** Writes what is spooled and not in the file yet; nothing here waits for anyone, so it is done at once. */
  forceFlush(_timeoutMs: number): Promise<boolean> {
    if (this.started && !this.closing.called) this.copy();
    return Promise.resolve(true);
  }

  shutdown(): Promise<void> {
    return this.closing.call().then(() => undefined);
  }

  /** What was written, once the file is closed (shutdown closes it). */
  summary(): Promise<RunFileSummary> {
    return this.closing.call();
  }

  /** This process's pending batches not yet in the file (clock null: never sent); alone, they leave the spool. */
  private copy(): void {
    for (const seq of this.spool.pendingSeqs()) {
      if (this.earlier.has(seq) || this.writer.has(seq)) continue;
      const body = this.spool.read(seq);
      if (body === null) continue;
      this.writer.batch(seq, `{"clock":null,${body.slice(1)}`);
      if (this.sole) this.spool.ack(seq);
    }
  }
}

/** Where a pipeline's batches go, for the agent's start line. */
export function destination(collectors: readonly string[], out: string | undefined): string {
  if (collectors.length === 0) return `${out ?? '(nowhere)'} (no collector: import it with stagewatch-collector import)`;
  return out === undefined ? collectors.join(', ') : `${collectors.join(', ')} and ${out}`;
}

/** `--out FILE` names a file that is there already: refused, whoever finds it (the config, or the open racing another writer). */
export function outExists(file: string): UsageError {
  return new UsageError(`--out ${file}: exists already; give a new file name (a recording is never overwritten)`);
}
