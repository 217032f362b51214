/** What the merge needs of a decoded block: its times, ordinals (explicit or s0 + i) and size. */
export interface Mergeable {
  t: Float64Array;
  ord: Float64Array | null;
  s0: number;
  n: number;
}

interface Cursor<B> {
  b: B;
  i: number;
}

const ordAt = (b: Mergeable, i: number): number => (b.ord ? (b.ord[i] as number) : b.s0 + i);

function less<B extends Mergeable>(x: Cursor<B>, y: Cursor<B>): boolean {
  const tx = x.b.t[x.i] as number;
  const ty = y.b.t[y.i] as number;
  return tx < ty || (tx === ty && ordAt(x.b, x.i) < ordAt(y.b, y.i));
}

/**
 * Visits the samples of a host's blocks in (time, ordinal) order, as rows were read when each
 * sample was a row ordered by (t, rowid). `next` gives the blocks in order of their first time
 * (the blocks index's order) and is asked only when the merge reaches that time, so blocks are
 * decoded as the read streams and only those overlapping in time are held: a batch's blocks,
 * about a dozen. A binary heap on the current sample of each held block.
 */
export function mergeBlocks<B extends Mergeable>(next: () => B | undefined, visit: (b: B, i: number) => void): void {
  const heap: Array<Cursor<B>> = [];
  const up = (k: number): void => {
    const c = heap[k] as Cursor<B>;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!less(c, heap[p] as Cursor<B>)) break;
      heap[k] = heap[p] as Cursor<B>;
      k = p;
    }
    heap[k] = c;
  };
  const down = (k: number): void => {
    const c = heap[k] as Cursor<B>;
    for (;;) {
      let m = 2 * k + 1;
      if (m >= heap.length) break;
      if (m + 1 < heap.length && less(heap[m + 1] as Cursor<B>, heap[m] as Cursor<B>)) m++;
      if (!less(heap[m] as Cursor<B>, c)) break;
      heap[k] = heap[m] as Cursor<B>;
      k = m;
    }
    heap[k] = c;
  };
  let pending = next();
  for (;;) {
    // A block not yet held starts at or after its predecessors: it can hold nothing earlier than
    // the heap's top unless it starts at or before that top's time.
    while (pending && (heap.length === 0 || (pending.t[0] as number) <= ((heap[0] as Cursor<B>).b.t[(heap[0] as Cursor<B>).i] as number))) {
      heap.push({ b: pending, i: 0 });
      up(heap.length - 1);
      pending = next();
    }
    const top = heap[0];
    if (!top) return;
    const { b } = top;
    if (heap.length === 1) {
      // One block alone up to the next one's start: no comparisons.
      const until = pending ? (pending.t[0] as number) : Infinity;
      while (top.i < b.n && (b.t[top.i] as number) < until) visit(b, top.i++);
    } else {
      visit(b, top.i++);
    }
    if (top.i < b.n) {
      down(0);
    } else {
      const last = heap.pop() as Cursor<B>;
      if (heap.length > 0) {
        heap[0] = last;
        down(0);
      }
    }
  }
}
