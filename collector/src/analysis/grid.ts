/**
 * A time grid of fixed-width cells holding, per cell, the overlap-weighted mean of the readings
 * that cover it (float32: a cell's few readings need no more, and the grids are the bulk of a
 * report's memory). Sparse (chunks of cells allocated where readings fall), so memory follows the
 * time that has data, not the span of the run.
 */
/** Cells per chunk; grids of one cell width share chunk boundaries, so lanes read them side by side. */
export const CHUNK = 4096;

export class Grid {
  private readonly chunks = new Map<number, Float32Array>();
  private lastKey = NaN;
  private last: Float32Array | null = null;

  constructor(readonly cellMs: number) {}

  /** A reading of value v covering [a, b). */
  add(a: number, b: number, v: number): void {
    const c = this.cellMs;
    const first = Math.floor(a / c);
    const lastCell = Math.ceil(b / c) - 1;
    for (let i = first; i <= lastCell; i++) {
      const w = Math.min(b, (i + 1) * c) - Math.max(a, i * c);
      if (w <= 0) continue;
      const arr = this.chunkFor(i, true) as Float32Array;
      const o = i - Math.floor(i / CHUNK) * CHUNK;
      arr[o] = (arr[o] as number) + v * w;
      arr[CHUNK + o] = (arr[CHUNK + o] as number) + w;
    }
  }

  /** Mean of the readings covering cell i, or null where none does. */
  mean(i: number): number | null {
    const arr = this.chunkFor(i, false);
    if (!arr) return null;
    const o = i - Math.floor(i / CHUNK) * CHUNK;
    const w = arr[CHUNK + o] as number;
    return w > 0 ? (arr[o] as number) / w : null;
  }

  /** Milliseconds of reading time that fell in cell i (readings of one series tile it: at most cellMs). */
  weight(i: number): number {
    const arr = this.chunkFor(i, false);
    return arr ? (arr[CHUNK + i - Math.floor(i / CHUNK) * CHUNK] as number) : 0;
  }

  /**
   * A chunk's raw cells: sums at [0, CHUNK), weights at [CHUNK, 2 * CHUNK); null where no reading
   * fell. For bulk reads (the state pass); mean() and weight() are the checked way.
   */
  chunk(key: number): Float32Array | null {
    return this.chunks.get(key) ?? null;
  }

  /** Keys of the chunks that hold readings. */
  chunkKeys(): IterableIterator<number> {
    return this.chunks.keys();
  }

  private chunkFor(i: number, create: boolean): Float32Array | null {
    const key = Math.floor(i / CHUNK);
    if (key === this.lastKey) return this.last;
    let arr = this.chunks.get(key) ?? null;
    if (!arr && create) this.chunks.set(key, (arr = new Float32Array(2 * CHUNK)));
    if (arr) {
      this.lastKey = key;
      this.last = arr;
    }
    return arr;
  }
}
