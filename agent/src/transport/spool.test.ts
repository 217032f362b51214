import { readdirSync } from 'node:fs';
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
    expect(s.loss).toEqual({ batches: 6, samples: 42 });
    expect(logs.join('\n')).toMatch(/dropped the 1 oldest batch/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'state.json')).toHaveLength(4);
    expect(Spool.open(dir, 1000, () => {}, 'h').loss).toEqual({ batches: 6, samples: 42 });
  });
});
