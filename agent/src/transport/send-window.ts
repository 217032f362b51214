import { CloseCode } from '@stagewatch/shared';
import type { QuarantineReason } from './spool.js';

/** What the send window needs of the spool. */
export interface SpoolQueue {
  readonly size: { batches: number };
  pendingSeqs(limit: number): number[];
  /** The batch text, or null when damaged (the spool has quarantined it). */
  read(seq: number): string | null;
  ack(seq: number): void;
  /** Sent on the live link: not dropped to make room until release(). */
  hold(seq: number): void;
  release(): void;
  quarantine(seq: number, why: QuarantineReason, detail: string): void;
}

/** Close codes by which the collector says a frame it got was invalid (not that it is unwell). */
const REFUSED: ReadonlySet<number> = new Set([CloseCode.invalidPayload, CloseCode.policy, CloseCode.tooBig]);
/** Refusals in a row, with no ack between, after which the agent stops blaming single batches. */
const MAX_REFUSALS_IN_A_ROW = 3;

/**
 * Batches sent and not yet acknowledged, at most `size` of them, oldest first from the spool.
 *
 * A batch the collector refuses (it closes with 1007, 1008 or 1009 while batches are in flight)
 * would be resent first on every reconnect, forever. So after a refusal the window shrinks to one
 * batch; a refusal with exactly one batch in flight names it, and that entry is quarantined. If
 * refusals keep coming with no ack between, the fault is not in single batches (versions that
 * disagree, say): the window stops quarantining, the data stays spooled, and the link backs off.
 */
export class SendWindow {
  private readonly inflight = new Set<number>();
  /** Sending one batch at a time to find the one the collector refuses. */
  private isolating = false;
  private refusalsInARow = 0;

  constructor(
    private readonly spool: SpoolQueue,
    private readonly size: number,
    private readonly log: (msg: string) => void,
  ) {}

  /** Sends what fits; returns how many batches went out. */
  fill(send: (seq: number, body: string) => void): number {
    const window = this.isolating ? 1 : this.size;
    let sent = 0;
    // The in-flight seqs are among the oldest pending, so this many always holds enough to send.
    for (const seq of this.spool.pendingSeqs(window + this.inflight.size)) {
      if (this.inflight.size >= window) break;
      if (this.inflight.has(seq)) continue;
      const body = this.spool.read(seq);
      if (body === null) continue;
      send(seq, body);
      this.inflight.add(seq);
      this.spool.hold(seq);
      sent++;
    }
    return sent;
  }

  /** The collector stored these: they leave the spool. True if any did (the link is healthy). */
  acked(seqs: readonly number[]): boolean {
    for (const seq of seqs) {
      this.inflight.delete(seq);
      this.spool.ack(seq);
    }
    if (seqs.length === 0) return false;
    this.isolating = false;
    this.refusalsInARow = 0;
    return true;
  }

  /** The collector closed the link with `code`: if for something we sent, find and quarantine it. */
  closed(code: number, reason: string): void {
    if (!REFUSED.has(code) || this.inflight.size === 0) return;
    this.refusalsInARow++;
    const what = `${code}${reason ? ` ${reason}` : ''}`;
    if (this.refusalsInARow > MAX_REFUSALS_IN_A_ROW) {
      this.log(`WARNING: the collector refuses every batch (${what}); keeping them spooled: do agent and collector versions match?`);
      return;
    }
    if (this.isolating && this.inflight.size === 1) {
      const [seq] = this.inflight as Set<number> & Iterable<number>;
      this.spool.quarantine(seq as number, 'rejected', what);
      return;
    }
    this.isolating = true;
    this.log(`the collector refused a batch (${what}); sending one at a time to find it`);
  }

  /** The connection ended: nothing is in flight (the batches stay spooled and go out again). */
  reset(): void {
    this.inflight.clear();
    this.spool.release();
  }

  /** A link refused again and again keeps backing off rather than starting over. */
  get refusing(): boolean {
    return this.refusalsInARow > 0;
  }
}
