import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seqRanges } from './import.js';
import { runFileEntries, splitRunFile } from './read.js';

const header = JSON.stringify({ format: 'stagewatch-run', version: 1, origin: 'agent', writer: 'test', createdAt: 1, runId: 'r' });
const hello = JSON.stringify({ type: 'hello', protocol: 1, agentId: 'a-1', host: 'h', runId: 'r', gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 't' });
const batch = (seq: number, t = 1000): string =>
  JSON.stringify({ type: 'batch', seq, runId: 'r', samples: [{ t, host: 'h', source: 'host', m: { cpu_pct: seq } }], clock: null, loss: { batches: 0, samples: 0 } });

describe('splitRunFile and runFileEntries', () => {
  it('reads a whole file: header, then each batch with its hello', () => {
    const t = splitRunFile('f', gzipSync([header, hello, batch(1), batch(2), ''].join('\n')));
    expect(t.cut).toBeNull();
    const entries = [...runFileEntries(t, 10_000)];
    expect(entries.map((e) => ('batch' in e ? [e.no, e.batch.seq, e.of.agentId] : [e.no, 'hello']))).toEqual([[2, 'hello'], [3, 1, 'a-1'], [4, 2, 'a-1']]);
  });

  it('says where a cut file ends and drops the line the cut went through', () => {
    const whole = gzipSync([header, hello, batch(1), batch(2), ''].join('\n'));
    // gzip keeps a 8-byte trailer after the data; cutting 12 bytes off loses the last line's end too.
    const t = splitRunFile('f', whole.subarray(0, whole.length - 12));
    expect(t.cut?.reason).toMatch(/gzip data ends early/);
    expect(t.cut?.lastWholeLine).toBe(t.lines.at(-1)?.no ?? 1);
    expect(t.cut?.droppedBytes).toBeGreaterThan(0);
  });

  it('refuses damage inside the data, batches without a hello, and times far ahead of now', () => {
    const damaged = Buffer.from(gzipSync([header, hello, batch(1)].join('\n')));
    damaged[damaged.length - 6] = (damaged[damaged.length - 6] as number) ^ 0xff;
    expect(() => splitRunFile('f', damaged)).toThrow(/^f: damaged gzip data/);
    expect(() => [...runFileEntries(splitRunFile('f', gzipSync([header, batch(1)].join('\n'))), 0)]).toThrow('f: line 2: a batch before any hello');
    expect(() => [...runFileEntries(splitRunFile('f', gzipSync([header, hello, batch(1, 10 * 86_400_000)].join('\n'))), 0)]).toThrow(/f: line 3: batch: samples\.0\.t is 240 h ahead/);
  });

  it('writes seqs as ranges', () => {
    expect(seqRanges([5, 1, 2, 3, 7, 8, 3])).toBe('1-3, 5, 7-8');
    expect(seqRanges([])).toBe('');
  });
});
