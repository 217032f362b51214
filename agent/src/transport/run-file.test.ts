import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, UsageError, type Hello } from '@stagewatch/shared';
import { tempDir } from '../../../test/helpers/agent.js';
import { RunFileExporter, RunFileWriter, type RunFileSpool } from './run-file.js';

const HELLO: Hello = { type: 'hello', protocol: PROTOCOL_VERSION, agentId: 'a-1', host: 'h', runId: 'r', gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 'test' };

/** Pending batches by seq, in memory. */
function memorySpool(seqs: number[]): RunFileSpool & { entries: Map<number, string> } {
  const entries = new Map(seqs.map((seq) => [seq, JSON.stringify({ type: 'batch', seq, runId: 'r', samples: [], health: [], marks: [], loss: { batches: 0, samples: 0 } })]));
  return {
    entries,
    pendingSeqs: () => [...entries.keys()].sort((a, b) => a - b),
    read: (seq) => entries.get(seq) ?? null,
    ack: (seq) => void entries.delete(seq),
  };
}

const lines = (file: string) => gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('RunFileExporter', () => {
  it('beside a collector: the frames sent as sent, at the end what was never sent (no clock); the spool keeps it for the collector', async () => {
    const file = path.join(tempDir(), 'a.swrun.gz');
    const spool = memorySpool([1]); // left by an earlier run: not this file's
    const exporter = new RunFileExporter(spool, RunFileWriter.create(file, 'r', 'test', () => {}), false);
    spool.entries.set(2, '{"type":"batch","seq":2}');
    spool.entries.set(3, '{"type":"batch","seq":3}');
    exporter.start(HELLO);
    exporter.export(2);
    exporter.sent(2, '{"clock":{"offsetMs":1},"type":"batch","seq":2}');
    exporter.sent(2, '{"clock":{"offsetMs":2},"type":"batch","seq":2}'); // resent after a reconnect: written once
    expect(await exporter.forceFlush(0)).toBe(true);
    await exporter.shutdown();
    expect(await exporter.summary()).toEqual({ file, batches: 2, error: null });
    expect(lines(file).slice(1)).toEqual([HELLO, { clock: { offsetMs: 1 }, type: 'batch', seq: 2 }, { clock: null, type: 'batch', seq: 3 }]);
    expect([...spool.entries.keys()]).toEqual([1, 2, 3]);
  });

  it('alone: each batch goes into the file once the hello is written, and leaves the spool', async () => {
    const file = path.join(tempDir(), 'b.swrun.gz');
    const spool = memorySpool([]);
    const exporter = new RunFileExporter(spool, RunFileWriter.create(file, 'r', 'test', () => {}), true);
    spool.entries.set(1, '{"type":"batch","seq":1}');
    exporter.export(1); // before the hello: waits in the spool
    expect(spool.entries.size).toBe(1);
    exporter.start(HELLO);
    spool.entries.set(2, '{"type":"batch","seq":2}');
    exporter.export(2);
    expect(spool.entries.size).toBe(0);
    await exporter.shutdown();
    expect(lines(file).slice(1).map((l) => [l.type, l.seq, l.clock])).toEqual([['hello', undefined, undefined], ['batch', 1, null], ['batch', 2, null]]);
  });

  it('never overwrites: an existing file is a UsageError naming --out', async () => {
    const file = path.join(tempDir(), 'c.swrun.gz');
    const first = RunFileWriter.create(file, null, 'test', () => {});
    expect(() => RunFileWriter.create(file, null, 'test', () => {})).toThrow(UsageError);
    expect(() => RunFileWriter.create(file, null, 'test', () => {})).toThrow(/^--out .*c\.swrun\.gz: exists already/);
    await first.close();
  });
});
