import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StagewatchError } from '@stagewatch/shared';

export interface SpoolLoss {
  batches: number;
  samples: number;
}

interface State {
  agentId: string;
  /** No seq below this was ever used: where a restarted agent continues. */
  nextSeq: number;
  loss: SpoolLoss;
}

/** Seqs reserved per write of state.json, so the file is written once per this many batches. */
const SEQ_BLOCK = 1000;

interface Entry {
  seq: number;
  samples: number;
  bytes: number;
}

const FILE = /^(\d{12})-(\d+)\.json$/;
const fileName = (seq: number, samples: number): string => `${String(seq).padStart(12, '0')}-${samples}.json`;

/**
 * A bounded on-disk queue of batches not yet acknowledged: one file per batch, written to a
 * temporary name and renamed, so a crash leaves whole batches or none. The agent id and the next
 * sequence number live beside them: they belong together, because the collector drops repeats by
 * (agent, seq). Written here because the npm queue packages we looked at are in-memory or
 * Redis-backed; what is needed is a directory of files and a byte cap.
 */
export class Spool {
  private readonly entries: Entry[] = [];
  /** The latest batches' text, so sending one just written does not read its file back. */
  private readonly recent = new Map<number, string>();
  private bytes = 0;
  private state: State;
  private seq: number;

  private constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: (msg: string) => void,
    agentIdHint: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.state = this.loadState(agentIdHint);
    this.seq = this.state.nextSeq;
    for (const f of readdirSync(dir)) {
      const m = FILE.exec(f);
      if (!m) continue;
      const entry = { seq: Number(m[1]), samples: Number(m[2]), bytes: statSync(path.join(dir, f)).size };
      this.entries.push(entry);
      this.bytes += entry.bytes;
      if (entry.seq >= this.seq) this.seq = entry.seq + 1;
    }
    this.entries.sort((a, b) => a.seq - b.seq);
  }

  static open(dir: string, maxBytes: number, log: (msg: string) => void, agentIdHint: string): Spool {
    try {
      return new Spool(dir, maxBytes, log, agentIdHint);
    } catch (e) {
      throw new StagewatchError('spool', `spool directory ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }

  private loadState(agentIdHint: string): State {
    try {
      const s = JSON.parse(readFileSync(path.join(this.dir, 'state.json'), 'utf8')) as State;
      if (typeof s.agentId === 'string' && Number.isSafeInteger(s.nextSeq)) return s;
    } catch {
      // a new spool
    }
    // A new spool is a new sequence space, so it gets a new agent id.
    const s: State = { agentId: `${agentIdHint}-${randomBytes(4).toString('hex')}`, nextSeq: 1, loss: { batches: 0, samples: 0 } };
    this.writeState(s);
    return s;
  }

  private writeState(s: State): void {
    const tmp = path.join(this.dir, 'state.json.tmp');
    writeFileSync(tmp, JSON.stringify(s));
    renameSync(tmp, path.join(this.dir, 'state.json'));
  }

  get agentId(): string {
    return this.state.agentId;
  }

  get loss(): SpoolLoss {
    return { ...this.state.loss };
  }

  get size(): { batches: number; bytes: number } {
    return { batches: this.entries.length, bytes: this.bytes };
  }

  /** Takes the next seq, lets `render` build the batch text with it, and stores it. */
  append(samples: number, render: (seq: number) => string): number {
    const seq = this.seq++;
    // Seqs go out in reserved blocks: a crash skips the rest of a block (gaps are harmless) but
    // never reuses a seq, which the collector would take for a repeat and drop.
    const reserve = this.seq > this.state.nextSeq;
    if (reserve) this.state.nextSeq = this.seq + SEQ_BLOCK;
    const text = render(seq);
    const name = fileName(seq, samples);
    const tmp = path.join(this.dir, `${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, path.join(this.dir, name));
    const entry = { seq, samples, bytes: Buffer.byteLength(text) };
    this.entries.push(entry);
    this.recent.set(seq, text);
    if (this.recent.size > 8) this.recent.delete(this.recent.keys().next().value as number);
    this.bytes += entry.bytes;
    if (this.enforceCap() || reserve) this.writeState(this.state);
    return seq;
  }

  /** Past the cap the oldest batches go; the loss is counted and said, never silent. */
  private enforceCap(): boolean {
    let dropped = 0;
    let droppedSamples = 0;
    while (this.bytes > this.maxBytes && this.entries.length > 1) {
      const oldest = this.entries.shift() as Entry;
      this.remove(oldest);
      dropped++;
      droppedSamples += oldest.samples;
    }
    if (dropped > 0) {
      this.state.loss.batches += dropped;
      this.state.loss.samples += droppedSamples;
      this.log(`spool over ${Math.round(this.maxBytes / 1048576)} MiB: dropped the ${dropped} oldest batch(es), ${droppedSamples} samples (lost so far: ${this.state.loss.samples})`);
    }
    return dropped > 0;
  }

  private remove(e: Entry): void {
    this.bytes -= e.bytes;
    this.recent.delete(e.seq);
    try {
      unlinkSync(path.join(this.dir, fileName(e.seq, e.samples)));
    } catch {
      // already gone
    }
  }

  pendingSeqs(): number[] {
    return this.entries.map((e) => e.seq);
  }

  read(seq: number): string | null {
    const e = this.entries.find((x) => x.seq === seq);
    if (!e) return null;
    const cached = this.recent.get(seq);
    if (cached !== undefined) return cached;
    try {
      return readFileSync(path.join(this.dir, fileName(e.seq, e.samples)), 'utf8');
    } catch {
      return null;
    }
  }

  ack(seq: number): void {
    const i = this.entries.findIndex((e) => e.seq === seq);
    if (i < 0) return;
    const [e] = this.entries.splice(i, 1);
    this.remove(e as Entry);
  }

  ackThrough(seq: number): void {
    while (this.entries.length > 0 && (this.entries[0] as Entry).seq <= seq) this.remove(this.entries.shift() as Entry);
  }
}
