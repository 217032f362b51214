import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { StagewatchError, type Loss, type SamplerHealth } from '@stagewatch/shared';
import { writeDurably } from './durable.js';
import { damage, entryFor, entryOf, fileName, type Entry } from './spool-entry.js';

export type SpoolLoss = Loss;

interface State {
  agentId: string;
  /** Proves this spool's agent id to the collector (see Hello.agentKey); never logged. */
  agentKey: string;
  /** No seq below this was ever used: where a restarted agent continues. */
  nextSeq: number;
  loss: SpoolLoss;
}

/** Seqs reserved per write of state.json, so the file is written once per this many batches. */
const SEQ_BLOCK = 1000;
const NO_LOSS: SpoolLoss = { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 };

export type QuarantineReason = 'corrupt' | 'rejected';

/**
 * A bounded on-disk queue of batches not yet acknowledged: one file per batch, written durably
 * (see writeDurably), so a crash leaves whole batches or none. Each file name carries the CRC-32
 * of its bytes: the threat is accidental damage (a torn write, a bad block, a stray editor), for
 * which a CRC is made, and CRC-32 is built into Node's zlib and fits in a name; it is no defence
 * against someone who may write the spool, but nothing is. An entry that fails its checksum, cannot
 * be read, or that the collector refuses is moved to quarantine/, counted in the loss and never
 * blocks the entries behind it. The agent id and the next sequence number live beside them: they
 * belong together, because the collector drops repeats by (agent, seq). Written here because the
 * npm queue packages we looked at are in-memory or Redis-backed; what is needed is a directory of
 * files and a byte cap.
 */
export class Spool {
  private readonly entries: Entry[] = [];
  /** The latest batches' text, so sending one just written does not read its file back. */
  private readonly recent = new Map<number, string>();
  /** Seqs sent on the live link and not yet acked: a collector may be storing them right now. */
  private readonly held = new Set<number>();
  private bytes = 0;
  private state: State;
  private seq: number;
  private readonly quarantineDir: string;

  private constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: (msg: string) => void,
    agentIdHint: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.quarantineDir = path.join(dir, 'quarantine');
    this.state = this.loadState(agentIdHint);
    this.seq = this.state.nextSeq;
    for (const f of readdirSync(dir)) {
      // A temporary file is a write a crash interrupted: that batch was never stored.
      if (f.endsWith('.tmp')) {
        unlinkSync(path.join(dir, f));
        continue;
      }
      const entry = entryOf(f, 0);
      if (!entry) continue;
      entry.bytes = statSync(path.join(dir, f)).size;
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
    let text: string | null = null;
    try {
      text = readFileSync(path.join(this.dir, 'state.json'), 'utf8');
      const s = JSON.parse(text) as Partial<State>;
      if (typeof s.agentId === 'string' && Number.isSafeInteger(s.nextSeq)) {
        // Spools from before agent keys and quarantine counts get them now.
        const state: State = { agentId: s.agentId, agentKey: s.agentKey ?? newKey(), nextSeq: s.nextSeq as number, loss: { ...NO_LOSS, ...s.loss } };
        if (s.agentKey === undefined) this.writeState(state);
        return state;
      }
    } catch {
      // a new spool, or a state file that is not JSON (below)
    }
    if (text !== null) this.log(`WARNING: ${path.join(this.dir, 'state.json')} is damaged; this spool starts over as a new agent`);
    // A new spool is a new sequence space, so it gets a new agent id.
    const s: State = { agentId: `${agentIdHint}-${randomBytes(4).toString('hex')}`, agentKey: newKey(), nextSeq: 1, loss: { ...NO_LOSS } };
    this.writeState(s);
    return s;
  }

  private writeState(s: State): void {
    writeDurably(this.dir, 'state.json', JSON.stringify(s));
  }

  get agentId(): string {
    return this.state.agentId;
  }

  get agentKey(): string {
    return this.state.agentKey;
  }

  get loss(): SpoolLoss {
    return { ...this.state.loss };
  }

  get size(): { batches: number; bytes: number } {
    return { batches: this.entries.length, bytes: this.bytes };
  }

  /**
   * Takes the next seq, lets `render` build the batch text with it, and stores it. `render` may
   * be called twice: when older batches had to go to make room, the batch is rendered again so
   * that the loss it carries (read from `loss` inside render) already counts them. The newest
   * batch thus always says everything lost so far.
   */
  append(samples: number, render: (seq: number) => string): number {
    const seq = this.seq++;
    // Seqs go out in reserved blocks: a crash skips the rest of a block (gaps are harmless) but
    // never reuses a seq, which the collector would take for a repeat and drop.
    const reserve = this.seq > this.state.nextSeq;
    if (reserve) this.state.nextSeq = this.seq + SEQ_BLOCK;
    let text = render(seq);
    let data = Buffer.from(text);
    const dropped = this.makeRoom(data.length);
    if (dropped) {
      text = render(seq);
      data = Buffer.from(text);
    }
    const entry = entryFor(seq, samples, data);
    writeDurably(this.dir, fileName(entry), data);
    this.entries.push(entry);
    this.recent.set(seq, text);
    if (this.recent.size > 8) this.recent.delete(this.recent.keys().next().value as number);
    this.bytes += entry.bytes;
    if (dropped || reserve) this.writeState(this.state);
    return seq;
  }

  /**
   * Past the cap the oldest batches go; the loss is counted and said, never silent. Batches a
   * collector holds (see hold) are passed over: dropping one would count as lost a batch that is
   * then stored. So the spool may exceed its cap by what is in flight, until that link breaks.
   */
  private makeRoom(incoming: number): boolean {
    let dropped = 0;
    let droppedSamples = 0;
    for (let i = 0; this.bytes + incoming > this.maxBytes && i < this.entries.length; ) {
      const e = this.entries[i] as Entry;
      if (this.held.has(e.seq)) {
        i++;
        continue;
      }
      this.entries.splice(i, 1);
      this.remove(e);
      dropped++;
      droppedSamples += e.samples;
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
    this.held.delete(e.seq);
    this.recent.delete(e.seq);
    try {
      unlinkSync(path.join(this.dir, fileName(e)));
    } catch {
      // already gone
    }
  }

  /** The oldest `limit` seqs waiting for an ack, oldest first. */
  pendingSeqs(limit = Infinity): number[] {
    return this.entries.slice(0, limit).map((e) => e.seq);
  }

  /**
   * The batch text of `seq`, checked against its checksum; null if there is no such entry or it
   * is damaged, in which case it has been quarantined and is no longer pending.
   */
  read(seq: number): string | null {
    const e = this.entries.find((x) => x.seq === seq);
    if (!e) return null;
    // What this process wrote itself is sent from memory; its checksum guards what a restart reads back.
    const cached = this.recent.get(seq);
    if (cached !== undefined) return cached;
    let data: Buffer;
    try {
      data = readFileSync(path.join(this.dir, fileName(e)));
    } catch (err) {
      this.quarantine(seq, 'corrupt', `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return null;
    }
    const problem = damage(e, data);
    if (problem) {
      this.quarantine(seq, 'corrupt', problem);
      return null;
    }
    return data.toString('utf8');
  }

  /**
   * Moves an entry aside into quarantine/ (kept for a person to look at, within the spool's byte
   * cap) and counts it in the loss. It is no longer pending, so nothing waits on it.
   */
  quarantine(seq: number, why: QuarantineReason, detail: string): void {
    const i = this.entries.findIndex((e) => e.seq === seq);
    if (i < 0) return;
    const [e] = this.entries.splice(i, 1) as [Entry];
    this.bytes -= e.bytes;
    this.recent.delete(seq);
    this.held.delete(seq);
    this.state.loss[why]++;
    this.state.loss.quarantinedSamples += e.samples;
    const name = fileName(e);
    try {
      mkdirSync(this.quarantineDir, { recursive: true });
      renameSync(path.join(this.dir, name), path.join(this.quarantineDir, `${name}.${why}`));
      this.trimQuarantine();
    } catch {
      // Unreadable may mean unmovable too; it is out of the queue all the same.
      try {
        unlinkSync(path.join(this.dir, name));
      } catch {
        // gone already
      }
    }
    this.writeState(this.state);
    this.log(`spool entry seq ${seq} (${e.samples} samples) ${why === 'corrupt' ? 'is damaged' : 'was refused by the collector'} (${detail}): moved to ${this.quarantineDir}; ${this.state.loss.corrupt} corrupt and ${this.state.loss.rejected} refused so far`);
  }

  /** The quarantine keeps its newest files within the spool's byte cap. */
  private trimQuarantine(): void {
    const files = readdirSync(this.quarantineDir).sort();
    let total = 0;
    const sizes = files.map((f) => statSync(path.join(this.quarantineDir, f)).size);
    for (let i = files.length - 1; i >= 0; i--) {
      total += sizes[i] as number;
      if (total > this.maxBytes) unlinkSync(path.join(this.quarantineDir, files[i] as string));
    }
  }

  /** `seq` went out on the live link: it is not dropped to make room while it may be stored. */
  hold(seq: number): void {
    this.held.add(seq);
  }

  /** The link ended: what was in flight is only spooled again. */
  release(): void {
    this.held.clear();
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

  /** The spool as a health line: degraded once anything was quarantined or dropped. */
  health(host: string, now: number, appended: number): SamplerHealth {
    const l = this.state.loss;
    const bad = l.corrupt + l.rejected;
    const problems = [
      ...(l.batches > 0 ? [`${l.batches} batches dropped when full`] : []),
      ...(l.corrupt > 0 ? [`${l.corrupt} damaged entries quarantined`] : []),
      ...(l.rejected > 0 ? [`${l.rejected} entries refused by the collector quarantined`] : []),
    ];
    return {
      t: now,
      host,
      source: 'health',
      sampler: 'spool',
      state: problems.length > 0 ? 'degraded' : 'ok',
      ...(problems.length > 0 ? { error: `${problems.join('; ')} (${this.dir})` } : {}),
      restarts: 0,
      lines: appended,
      badLines: bad,
      absent: {},
    };
  }
}

const newKey = (): string => randomBytes(16).toString('hex');
