import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/agent.js';
import { contentKeys, startAgentDaemon, startCollectorProc, storedSamples, teeSamples, waitFor, type AgentProc, type CollectorProc } from './helpers/processes.js';

const running: Array<AgentProc | CollectorProc> = [];
afterEach(() => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});

/** The (agent, seq) pairs a collector's store holds: what it took from each agent. */
function storedSeqs(dataDir: string): Array<{ agent: string; seq: number }> {
  const db = new Database(path.join(dataDir, 'stagewatch.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT agent_id AS agent, seq FROM batches ORDER BY seq').all() as Array<{ agent: string; seq: number }>;
  } finally {
    db.close();
  }
}

async function storedCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^stagewatch_collector_samples_stored_total (\S+)$/m.exec(text)?.[1] ?? NaN);
}

describe('an agent with two collectors on separate stores', () => {
  it('moves to the second when the first is SIGKILLed; every batch is stored exactly once across the two stores', async () => {
    const [dataA, dataB] = [tempDir(), tempDir()];
    const tee = path.join(tempDir(), 'tee.jsonl');
    const a = await startCollectorProc(dataA);
    const b = await startCollectorProc(dataB);
    running.push(a, b);
    const ws = (u: string): string => u.replace(/^http/, 'ws');
    // 10 Hz: the helper's --interval-ms 100.
    const agent = startAgentDaemon(`${ws(a.url)},${ws(b.url)}`, tempDir(), ['--tee', tee, '--run-id', 'failover']);
    running.push(agent);
    await waitFor('samples stored by the first collector', async () => (await storedCount(a.url)) > 400);
    expect(b.stderr()).not.toMatch(/connected from/);
    a.proc.kill('SIGKILL');
    await a.proc;
    const killed = Date.now();
    await waitFor('the agent to move to the second collector', () => /connected from/.test(b.stderr()));
    const moved = Date.now() - killed;
    await waitFor('samples stored by the second collector', async () => (await storedCount(b.url)) > 400);
    const summary = await agent.stop();
    expect(summary.unsent).toBe(0);
    expect(summary.lost).toEqual({ batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 });
    expect(agent.stderr()).toMatch(new RegExp(`collector ${ws(a.url)}/agent: .*; reconnecting in \\d+ ms to ${ws(b.url)}/agent`));
    expect(agent.stderr()).toMatch(new RegExp(`reconnected to ${ws(b.url)}/agent after`));

    const [inA, inB] = [storedSeqs(dataA), storedSeqs(dataB)];
    expect(inA.length).toBeGreaterThan(0);
    expect(inB.length).toBeGreaterThan(0);
    expect(new Set([...inA, ...inB].map((r) => r.agent)).size).toBe(1);
    const a_ = new Set(inA.map((r) => r.seq));
    // Exactly once across the stores: no seq in both, none missing between 1 and the last.
    expect(inB.filter((r) => a_.has(r.seq)).map((r) => r.seq)).toEqual([]);
    const union = [...inA, ...inB].map((r) => r.seq).sort((x, y) => x - y);
    expect(union).toEqual(Array.from({ length: summary.batches }, (_, i) => i + 1));
    // And sample for sample: what the agent produced is what the two stores hold together.
    const stored = [...storedSamples(dataA, 'failover'), ...storedSamples(dataB, 'failover')];
    const sent = teeSamples(tee);
    expect(stored.length).toBe(sent.length);
    expect(contentKeys(stored)).toEqual(contentKeys(sent));
    console.log(`failover: moved to the second collector ${moved} ms after the SIGKILL; ${inA.length} batches stored by the first, ${inB.length} by the second, ${sent.length} samples`);
  });
});
