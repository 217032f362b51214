import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/agent.js';
import { Spool } from './spool.js';

const batchOf = (n: number) => (seq: number) => JSON.stringify({ type: 'batch', seq, pad: 'x'.repeat(n) });

describe('Spool', () => {
  it('keeps its agent id and sequence across restarts, and what was not acked', () => {
    const dir = tempDir();
    const a = Spool.open(dir, 1 << 20, () => {}, 'host1');
    expect(a.agentId).toMatch(/^host1-[0-9a-f]{8}$/);
    expect([a.append(1, batchOf(10)), a.append(1, batchOf(10)), a.append(1, batchOf(10))]).toEqual([1, 2, 3]);
    a.ack(2);
    const b = Spool.open(dir, 1 << 20, () => {}, 'host1');
    expect(b.agentId).toBe(a.agentId);
    expect(b.pendingSeqs()).toEqual([1, 3]);
    expect(JSON.parse(b.read(3) as string)).toMatchObject({ seq: 3 });
    // A restart never reuses a seq (it continues past the reserved block).
    const next = b.append(1, batchOf(10));
    expect(next).toBeGreaterThan(3);
    b.ackThrough(3);
    expect(b.pendingSeqs()).toEqual([next]);
    b.ack(next);
    expect(Spool.open(dir, 1 << 20, () => {}, 'host1').append(1, batchOf(10))).toBeGreaterThan(next);
  });

  it('a new directory is a new agent, so the collector cannot mistake its seqs for repeats', () => {
    expect(Spool.open(tempDir(), 1000, () => {}, 'h').agentId).not.toBe(Spool.open(tempDir(), 1000, () => {}, 'h').agentId);
  });

  it('drops the oldest batches past the cap and counts the loss loudly', () => {
    const dir = tempDir();
    const logs: string[] = [];
    const s = Spool.open(dir, 1000, (m) => logs.push(m), 'h');
    for (let i = 0; i < 10; i++) s.append(7, batchOf(200));
    expect(s.size.bytes).toBeLessThanOrEqual(1000);
    expect(s.pendingSeqs()).toEqual([7, 8, 9, 10]);
    expect(s.loss).toEqual({ batches: 6, samples: 42, corrupt: 0, rejected: 0, quarantinedSamples: 0 });
    expect(logs.join('\n')).toMatch(/dropped the 1 oldest batch/);
    expect(readdirSync(dir).filter((f) => /^\d{12}-/.test(f))).toHaveLength(4);
    expect(Spool.open(dir, 1000, () => {}, 'h').loss).toMatchObject({ batches: 6, samples: 42 });
  });

  it('never drops a batch a collector holds (it may be storing it) until the link lets go of it', () => {
    const s = Spool.open(tempDir(), 1000, () => {}, 'h');
    for (let i = 0; i < 4; i++) s.append(7, batchOf(200));
    s.hold(1);
    s.hold(2);
    s.append(7, batchOf(200));
    // Full: 3 went, not 1 and 2, which are in flight; nothing counted lost for them.
    expect(s.pendingSeqs()).toEqual([1, 2, 4, 5]);
    expect(s.loss).toMatchObject({ batches: 1, samples: 7 });
    s.release();
    s.append(7, batchOf(200));
    expect(s.pendingSeqs()).toEqual([2, 4, 5, 6]);
    expect(s.loss).toMatchObject({ batches: 2, samples: 14 });
  });
});

describe('Spool entries that go bad', () => {
  const entryFile = (dir: string, seq: number): string => readdirSync(dir).find((f) => f.startsWith(`${String(seq).padStart(12, '0')}-`)) as string;

  it('names each entry by its CRC-32 and quarantines one whose bytes changed, without blocking the rest', () => {
    const dir = tempDir();
    const logs: string[] = [];
    const s = Spool.open(dir, 1 << 20, (m) => logs.push(m), 'h');
    for (let i = 0; i < 3; i++) s.append(4, batchOf(10));
    const name = entryFile(dir, 2);
    expect(name).toMatch(/^000000000002-4-[0-9a-f]{8}\.json$/);
    // One flipped byte, as a bad block or a torn write would leave it.
    const file = path.join(dir, name);
    const bytes = readFileSync(file);
    bytes[5] = (bytes[5] as number) ^ 1;
    writeFileSync(file, bytes);
    const reopened = Spool.open(dir, 1 << 20, (m) => logs.push(m), 'h');
    expect(reopened.read(2)).toBeNull();
    expect(reopened.pendingSeqs()).toEqual([1, 3]);
    expect(JSON.parse(reopened.read(3) as string)).toMatchObject({ seq: 3 });
    expect(reopened.loss).toEqual({ batches: 0, samples: 0, corrupt: 1, rejected: 0, quarantinedSamples: 4 });
    expect(readdirSync(path.join(dir, 'quarantine'))).toEqual([`${name}.corrupt`]);
    expect(logs.join('\n')).toMatch(/seq 2 \(4 samples\) is damaged \(checksum [0-9a-f]{8}, expected [0-9a-f]{8}\)/);
    // The count survives a restart: the collector is told in every later batch.
    expect(Spool.open(dir, 1 << 20, () => {}, 'h').loss.corrupt).toBe(1);
  });

  it('quarantines an entry that cannot be read at all', () => {
    const dir = tempDir();
    const s = Spool.open(dir, 1 << 20, () => {}, 'h');
    s.append(2, batchOf(10));
    s.append(2, batchOf(10));
    // A directory where the file was: reading it fails with EISDIR (chmod 000 would not stop root).
    const name = entryFile(dir, 1);
    rmSync(path.join(dir, name));
    mkdirSync(path.join(dir, name));
    // The writing process sends from memory what it just wrote; a restarted one reads the file.
    expect(s.read(1)).not.toBeNull();
    const again = Spool.open(dir, 1 << 20, () => {}, 'h');
    expect(again.read(1)).toBeNull();
    expect(again.pendingSeqs()).toEqual([2]);
    expect(again.loss).toMatchObject({ corrupt: 1, quarantinedSamples: 2 });
  });

  it('counts an entry the collector refused as rejected, and says so on its health line', () => {
    const s = Spool.open(tempDir(), 1 << 20, () => {}, 'h');
    s.append(3, batchOf(10));
    s.append(3, batchOf(10));
    expect(s.health('h', 5, 2)).toMatchObject({ sampler: 'spool', state: 'ok', badLines: 0 });
    s.quarantine(1, 'rejected', '1008 invalid batch: samples.0.m.x: expected number');
    expect(s.pendingSeqs()).toEqual([2]);
    expect(s.loss).toMatchObject({ rejected: 1, corrupt: 0, quarantinedSamples: 3 });
    const h = s.health('h', 6, 2);
    expect(h).toMatchObject({ t: 6, host: 'h', source: 'health', sampler: 'spool', state: 'degraded', lines: 2, badLines: 1 });
    expect(h.error).toMatch(/^1 entries refused by the collector quarantined/);
  });

  it('reads entries spooled before checksums, and quarantines one that is not JSON', () => {
    const dir = tempDir();
    Spool.open(dir, 1 << 20, () => {}, 'h');
    writeFileSync(path.join(dir, '000000000001-1.json'), batchOf(1)(1));
    writeFileSync(path.join(dir, '000000000002-1.json'), '{"type":"batch","seq":2,"samp');
    const s = Spool.open(dir, 1 << 20, () => {}, 'h');
    expect(JSON.parse(s.read(1) as string)).toMatchObject({ seq: 1 });
    expect(s.read(2)).toBeNull();
    expect(s.loss.corrupt).toBe(1);
  });

  it('drops what a crash left half-written, and keeps the quarantine within the byte cap', () => {
    const dir = tempDir();
    const s = Spool.open(dir, 1000, () => {}, 'h');
    writeFileSync(path.join(dir, '000000000009-1-00000000.json.tmp'), '{"type":');
    for (let i = 1; i <= 8; i++) {
      s.append(1, batchOf(200));
      s.quarantine(s.pendingSeqs()[0] as number, 'rejected', 'test');
    }
    const q = readdirSync(path.join(dir, 'quarantine'));
    expect(q.length).toBeGreaterThan(0);
    expect(q.length).toBeLessThan(8);
    expect(q.at(-1)).toMatch(/^000000000008-/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual(['000000000009-1-00000000.json.tmp']);
    Spool.open(dir, 1000, () => {}, 'h');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('gives spools from before agent keys a key, kept across restarts', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ agentId: 'old-1234', nextSeq: 5, loss: { batches: 1, samples: 2 } }));
    const s = Spool.open(dir, 1 << 20, () => {}, 'h');
    expect(s.agentId).toBe('old-1234');
    expect(s.agentKey).toMatch(/^[0-9a-f]{32}$/);
    expect(s.loss).toEqual({ batches: 1, samples: 2, corrupt: 0, rejected: 0, quarantinedSamples: 0 });
    expect(Spool.open(dir, 1 << 20, () => {}, 'h').agentKey).toBe(s.agentKey);
  });

  it('says so when its state file is damaged, and starts over as a new agent', () => {
    const dir = tempDir();
    const first = Spool.open(dir, 1 << 20, () => {}, 'h').agentId;
    writeFileSync(path.join(dir, 'state.json'), '{"agentId":');
    const logs: string[] = [];
    expect(Spool.open(dir, 1 << 20, (m) => logs.push(m), 'h').agentId).not.toBe(first);
    expect(logs.join('\n')).toMatch(/state\.json is damaged/);
  });
});
