import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/agent.js';
import { startAgentDaemon, teeSamples, waitFor, type AgentProc } from '../helpers/processes.js';
import { freePort } from '../helpers/victoria.js';
import { auth, collectorProcess, figure, goodAgent, range, storedCounters, TOKEN, withStore, type CollectorProcess } from './harness.js';

const procs: Array<{ proc: { kill(s?: NodeJS.Signals): unknown } }> = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.proc.kill('SIGKILL');
});

async function storedSoFar(col: CollectorProcess): Promise<number> {
  const text = await (await fetch(`${col.url}/metrics`, { headers: auth })).text();
  return Number(/^stagewatch_collector_samples_stored_total (\S+)$/m.exec(text)?.[1] ?? 0);
}

const agentDaemon = (url: string, spool: string, args: string[]): AgentProc => {
  const a = startAgentDaemon(url, spool, ['--token', TOKEN, ...args]);
  procs.push(a);
  return a;
};

describe('adversarial: crash safety', () => {
  it('SIGKILLed 5 times while 3 agents stream at 10 Hz: the store checks out and every seq and sample is stored exactly once', async () => {
    const dataDir = tempDir();
    let col = await collectorProcess(dataDir);
    procs.push(col);
    const port = col.port;
    const agents = range(3).map((i) => goodAgent(col.url, `crash-${i}`, 'crash-run', { hz: 10, batchMs: 100 }));
    for (let kill = 1; kill <= 5; kill++) {
      await waitFor(`samples stored before kill ${kill}`, async () => (await storedSoFar(col)) >= 20);
      col.proc.kill('SIGKILL');
      await col.proc;
      col = await collectorProcess(dataDir, [], port);
      procs.push(col);
    }
    await waitFor('samples stored after the last restart', async () => (await storedSoFar(col)) >= 10);
    const results = await Promise.all(agents.map((a) => a.stop()));
    const batches = agents.map((a) => a.batches());
    await col.stop();
    const check = withStore(dataDir, (s) => ({
      integrity: s.integrityCheck(),
      counters: range(3).map((i) => storedCounters(s.samples('crash-run'), `crash-${i}`)),
      seqs: agents.map((a) => s.storedBatches(a.agentId)),
    }));
    expect(check.integrity).toEqual(['ok']);
    results.forEach((r, i) => {
      expect(r.drained, `agent ${i}`).toBe(true);
      expect(check.counters[i], `agent ${i}`).toEqual(range(r.samples.length));
      expect(check.seqs[i]?.map((b) => b.seq), `agent ${i}`).toEqual(range(batches[i] as number).map((x) => x + 1));
      expect(check.seqs[i]?.reduce((n, b) => n + b.samples, 0), `agent ${i}`).toBe(r.samples.length);
    });
    figure('crash: collector SIGKILLs survived', 5);
    figure('crash: samples from 3 agents at 10 Hz stored exactly once', results.reduce((n, r) => n + r.samples.length, 0));
    figure('crash: batches (seqs) stored exactly once', batches.reduce((a, b) => a + b, 0));
  });

  it('an agent SIGKILLed mid-stream and restarted sends everything its spool held, once, under the same id', async () => {
    const col = await collectorProcess(tempDir());
    procs.push(col);
    const spool = tempDir();
    const first = agentDaemon(col.url, spool, ['--run-id', 'agent-kill']);
    await waitFor('samples stored', async () => (await storedSoFar(col)) >= 30);
    // The collector freezes, so batches pile up unacknowledged (some sent, some only spooled)...
    col.proc.kill('SIGSTOP');
    await waitFor('batches held in the spool', () => readdirSync(spool).filter((f) => /^\d{12}-/.test(f)).length >= 3);
    // ...and the agent dies among them; the collector then reads what reached its socket.
    first.proc.kill('SIGKILL');
    await first.proc;
    col.proc.kill('SIGCONT');
    const state = JSON.parse(readFileSync(path.join(spool, 'state.json'), 'utf8')) as { agentId: string; nextSeq: number };
    const held = readdirSync(spool).filter((f) => /^\d{12}-/.test(f)).map((f) => Number(f.slice(0, 12)));
    // As if the kill had landed inside a spool write: a temporary file never renamed.
    writeFileSync(path.join(spool, `${String(state.nextSeq - 1).padStart(12, '0')}-3-00000000.json.tmp`), '{"type":"batch","seq":');
    const second = agentDaemon(col.url, spool, ['--run-id', 'agent-kill']);
    await waitFor('the restarted agent to connect', () => col.stderr().split(`agent ${state.agentId} on`).length > 2);
    const summary = await second.stop();
    expect(summary.unsent).toBe(0);
    expect(readdirSync(spool).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const metrics = await (await fetch(`${col.url}/metrics`, { headers: auth })).text();
    const repeats = Number(/^stagewatch_collector_batches_duplicate_total (\S+)$/m.exec(metrics)?.[1]);
    await col.stop();
    const stored = withStore(col.dataDir, (s) => ({ batches: s.storedBatches(state.agentId), samples: [...s.samples('agent-kill')].length }));
    const seqs = stored.batches.map((b) => b.seq);
    for (const seq of held) expect(seqs, `seq ${seq} held in the spool at the kill`).toContain(seq);
    // The restart went on past the block of seqs the first run had reserved, so none of its
    // batches was taken for a repeat: all it sampled is stored under seqs of its own.
    const secondRun = stored.batches.filter((b) => b.seq >= state.nextSeq);
    expect(secondRun.length).toBeGreaterThan(0);
    expect(secondRun.reduce((n, b) => n + b.samples, 0)).toBe(summary.samples);
    expect(stored.batches.reduce((n, b) => n + b.samples, 0)).toBe(stored.samples);
    figure('crash: batches the killed agent held in its spool, all delivered once after restart', held.length);
    figure('crash: of them resent after the collector had stored them from its socket (dropped as repeats)', repeats);
  });

  it('with the collector down and the spool full, what is dropped is counted, and stored plus dropped is what was sampled', async () => {
    const port = await freePort();
    const spool = tempDir();
    const tee = path.join(tempDir(), 'tee.jsonl');
    const agent = agentDaemon(`http://127.0.0.1:${port}`, spool, ['--run-id', 'spool-full', '--spool-max-mib', '0.02', '--tee', tee]);
    await waitFor('the spool to overflow', () => /spool over .* dropped the \d+ oldest batch/.test(agent.stderr()), 30_000);
    const col = await collectorProcess(tempDir(), [], port);
    procs.push(col);
    await waitFor('the agent to connect', () => /connected from/.test(col.stderr()));
    const summary = await agent.stop();
    await col.stop();
    const { agentId } = JSON.parse(readFileSync(path.join(spool, 'state.json'), 'utf8')) as { agentId: string };
    const stored = withStore(col.dataDir, (s) => ({ samples: [...s.samples('spool-full')].length, loss: s.agentLoss(agentId) }));
    expect(summary.unsent).toBe(0);
    expect(summary.lost.batches).toBeGreaterThan(0);
    expect(stored.loss).toEqual({ ...summary.lost });
    expect(teeSamples(tee)).toHaveLength(summary.samples);
    expect(stored.samples + summary.lost.samples).toBe(summary.samples);
    figure('crash: spool full (20 KB cap) while the collector was down: samples dropped, counted and stored as loss', `${summary.lost.samples} of ${summary.samples}`);
  });
});
