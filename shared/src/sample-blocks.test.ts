import { describe, expect, it } from 'vitest';
import { encodeBatchFrame, readFrameBlocks, readFrameHeader } from './batch-frame.js';
import { ByteWriter, Lanes, writeTimeSteps, writeValues } from './column-codec.js';
import { BatchHeaderSchema } from './protocol.js';
import { decodeSampleBlock, encodeSampleBlocks, lastSamples, type SampleBlock } from './sample-blocks.js';
import type { Sample } from './sample.js';

const gpu = (t: number, g: number, m: Record<string, number>, extra: Partial<Sample> = {}): Sample => ({ t, host: 'h', source: 'gpu', gpu: g, m, ...extra });
/** A block's samples: one source and set of metrics, with or without pid and dur_ms (GPUs and pids are lanes). */
const key = (s: Sample): string => `${s.source}|${s.pid === undefined}|${s.dur_ms === undefined}|${Object.keys(s.m).join(',')}`;
/** Samples in the order blocks give them back: by block, then time, then arrival. */
const bySeries = (xs: readonly Sample[]): Sample[] => {
  const first = new Map<string, number>();
  xs.forEach((s, i) => first.has(key(s)) || first.set(key(s), i));
  return xs.map((s, i) => ({ s, i })).sort((a, b) => (first.get(key(a.s)) as number) - (first.get(key(b.s)) as number) || a.s.t - b.s.t || a.i - b.i).map((x) => x.s);
};
const roundTrip = (xs: readonly Sample[]): Sample[] => encodeSampleBlocks(xs).flatMap((b) => decodeSampleBlock(b, 'h'));

describe('sample blocks', () => {
  it('give back every sample exactly: decimals, raw floats, -0, big bitmasks, negative values, out-of-order times', () => {
    const samples: Sample[] = [];
    for (let i = 0; i < 50; i++) {
      for (let g = 0; g < 3; g++) {
        samples.push(gpu(1_795_491_470_000 + i * 100 + (i % 7 === 0 ? 3 : 0), g, { util_pct: (i * 7 + g) % 101, power_w: 70 + ((i * 13) % 97) / 100, mem_total_mib: 81559, clock_event_reasons: 2 ** 40 + i, odd: i / 3, neg: -i * 1.5 }));
      }
      samples.push({ t: 1_795_491_470_000 + i * 100, host: 'h', source: 'host', m: { cpu_pct: (i % 10) * 9.87, zero: i === 3 ? -0 : 0 } });
      samples.push({ t: 1_795_491_470_000 + i * 100, host: 'h', source: 'proc', pid: 4242, dur_ms: i % 5 === 0 ? 99.5 : 100, m: { cpu_cores: i / 8 } });
      if (i % 10 === 0) samples.push(gpu(1_795_491_470_000 + i * 100, 0, { sm_active_pct: 96.5, tensor_active_pct: 93 }, { dur_ms: 1000 }));
    }
    // Arrivals out of time order within a series are stored in time order.
    samples.push(gpu(1_795_491_470_050, 1, { util_pct: 5, power_w: 70, mem_total_mib: 81559, clock_event_reasons: 1, odd: 0.1, neg: 0 }));
    const back = roundTrip(samples);
    expect(back).toEqual(bySeries(samples));
    expect(back.filter((s) => 'zero' in s.m).map((s) => Object.is(s.m.zero, -0))).toContain(true);
  });

  it('keep each GPU\'s and each process\'s latest reading, as decoding the block gives it', () => {
    const xs: Sample[] = [];
    for (let i = 0; i < 6; i++) {
      for (const g of [3, 0, 7]) xs.push(gpu(1000 + i * 100, g, { util_pct: g * 10 + i, power_w: 100 + g + i / 4 }));
      for (const pid of [4242, 99_000_001]) xs.push({ t: 1000 + i * 100 + 5, host: 'h', source: 'proc', pid, m: { cpu_cores: pid === 4242 ? i / 10 : 2 } });
    }
    const blocks = encodeSampleBlocks(xs);
    expect(blocks.map((b) => b.n)).toEqual([18, 12]);
    const decoded = blocks.flatMap((b) => decodeSampleBlock(b, 'h'));
    const latestOf = (key: (s: Sample) => string): Sample[] => [...new Map(decoded.map((s) => [key(s), s])).values()].sort((a, b) => a.t - b.t);
    expect(lastSamples(blocks, 'h')).toEqual(latestOf((s) => `${s.source}${s.gpu}${s.pid}`));
  });

  it('take a byte or less per value on the H100 capture\'s readings', () => {
    // Readings shaped like the capture's (test/fixtures/h100-phases-gpm1s): ten a second, a few
    // metrics moving, the rest constant.
    const xs = Array.from({ length: 50 }, (_, i) =>
      gpu(1_795_491_470_880 + i * 100, 0, { util_pct: i < 20 ? 0 : 97, mem_util_pct: i < 20 ? 0 : 41, mem_used_mib: 1615, mem_total_mib: 81559, power_w: 73.6 + (i % 4) * 0.03, temp_c: 33 + (i >> 4), sm_clock_mhz: i < 20 ? 345 : 1980, pstate: 0 }),
    );
    const [b] = encodeSampleBlocks(xs) as [SampleBlock];
    expect(b.columns.length / (50 * 8)).toBeLessThan(1);
  });
});

describe('the columnar batch frame', () => {
  const batch = {
    type: 'batch',
    seq: 7,
    runId: 'r',
    clock: { offsetMs: 1.5, errorMs: 0.2 },
    loss: { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 },
    health: [],
    marks: [{ kind: 'begin', stage: 'denoise', t: 1_795_491_470_900, source: 'http' }],
    samples: [gpu(1_795_491_470_880, 0, { util_pct: 97, power_w: 650.25 }), gpu(1_795_491_470_980, 0, { util_pct: 98, power_w: 651 }), { t: 1_795_491_470_900, host: 'h', source: 'proc', pid: 9, m: { cpu_cores: 0.99 } } as Sample],
  };

  it('carries the batch\'s fields in its header and the samples in blocks', () => {
    const frame = encodeBatchFrame(batch);
    const { header, blocksAt } = readFrameHeader(frame);
    const h = BatchHeaderSchema.parse(header);
    expect(h).toEqual({ ...batch, samples: undefined, names: ['util_pct', 'power_w', 'cpu_cores'] });
    const blocks = readFrameBlocks(frame, blocksAt, h.names);
    expect(blocks.map((b) => [b.source, b.hasPid, b.n, b.tFirst, b.tLast, b.latest])).toEqual([
      ['gpu', false, 2, 1_795_491_470_880, 1_795_491_470_980, [{ lane: 0, t: 1_795_491_470_980, values: [98, 651] }]],
      ['proc', true, 1, 1_795_491_470_900, 1_795_491_470_900, [{ lane: 9, t: 1_795_491_470_900, values: [0.99] }]],
    ]);
    expect(blocks.flatMap((b) => decodeSampleBlock(b, 'h'))).toEqual(bySeries(batch.samples));
  });

  /** A frame of one block written by hand, to break one rule at a time. */
  const handFrame = (kind: number, ids: number[], columns: (w: ByteWriter) => void, n = 2, names = ['a', 'b']): Uint8Array => {
    const w = new ByteWriter();
    const header = new TextEncoder().encode(JSON.stringify({ names }));
    w.byte(1);
    w.varint(header.length);
    w.bytes(header);
    w.byte(kind);
    w.varint(n);
    w.varint(ids.length);
    for (const i of ids) w.varint(i);
    const c = new ByteWriter();
    columns(c);
    w.varint(c.len);
    w.bytes(c.take());
    return w.take();
  };
  // Host blocks: one lane, no lane column.
  const times = (w: ByteWriter, t: number[]): void => (w.zz(t[0] as number), writeTimeSteps(w, t, t.length, new Lanes(null, 1)));
  const values = (w: ByteWriter, v: number[]): void => writeValues(w, v, v.length, new Float64Array(v.length), new Lanes(null, 1));
  const refusal = (frame: Uint8Array): string => {
    const { blocksAt } = readFrameHeader(frame);
    try {
      readFrameBlocks(frame, blocksAt, ['a', 'b']);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };

  it('is refused, naming the block and the rule, where it breaks one', () => {
    const host = 1;
    const ok = (w: ByteWriter): void => (times(w, [5, 6]), values(w, [1, 2]));
    expect(refusal(handFrame(host, [0], ok))).toBe('accepted');
    expect(refusal(handFrame(host, [0], (w) => (times(w, [6, 5]), values(w, [1, 2]))))).toMatch(/^blocks\.0: time 1 is earlier than the one before/);
    expect(refusal(handFrame(host, [0, 0], (w) => (ok(w), values(w, [1, 2]))))).toMatch(/^blocks\.0: metric a twice/);
    expect(refusal(handFrame(host, [2], ok))).toMatch(/^blocks\.0: name index 2 of 2/);
    expect(refusal(handFrame(host | 8, [0], ok))).toMatch(/pid is allowed on proc samples only/);
    expect(refusal(handFrame(3, [0], ok))).toMatch(/block kind 3/);
    expect(refusal(handFrame(host, [0], (w) => (times(w, [5, 6]), w.byte(0x10), w.f64(1), w.f64(Number.NaN))))).toMatch(/value NaN is not finite/);
    expect(refusal(handFrame(host | 4, [0], (w) => (times(w, [5, 6]), values(w, [10, 3_600_001]), values(w, [1, 2]))))).toMatch(/dur_ms 3600001 outside/);
    expect(refusal(handFrame(host, [0], (w) => (ok(w), w.byte(0))))).toMatch(/1 bytes left after the columns/);
    expect(refusal(handFrame(host, [0], (w) => times(w, [5, 6])))).toMatch(/truncated/);
    expect(refusal(handFrame(host, [0], (w) => (times(w, [5]), values(w, [1])), 0))).toMatch(/an empty block/);
    const cut = handFrame(host, [0], ok);
    expect(refusal(cut.subarray(0, cut.length - 1))).toMatch(/past the end/);
  });
});
