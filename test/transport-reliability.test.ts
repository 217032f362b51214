import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/agent.js';
import { contentKeys, startAgentDaemon, startCollectorProc, storedSamples, teeSamples, waitFor, type AgentProc, type CollectorProc } from './helpers/processes.js';

// The 60 s outage, shortened for CI; STAGEWATCH_TEST_OUTAGE_S=60 runs it in full.
const OUTAGE_S = Number(process.env.STAGEWATCH_TEST_OUTAGE_S ?? '4');

const running: Array<AgentProc | CollectorProc> = [];
afterEach(() => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('agent → collector over a real WebSocket into a real SQLite file', () => {
  it('delivers every sample exactly once when the collector is SIGKILLed and restarted mid-run', async () => {
    const data = tempDir();
    const spool = tempDir();
    const tee = path.join(tempDir(), 'tee.jsonl');
    let col = await startCollectorProc(data);
    running.push(col);
    const agent = startAgentDaemon(col.url, spool, ['--tee', tee, '--run-id', 'kill-test']);
    running.push(agent);
    await waitFor('samples stored', async () => (await metric(col.url, 'stagewatch_collector_samples_stored_total')) > 50);
    col.proc.kill('SIGKILL');
    await col.proc;
    await sleep(1500); // the agent keeps sampling into its spool
    col = await startCollectorProc(data, col.port);
    running.push(col);
    await waitFor('the agent to reconnect', () => /connected from/.test(col.stderr()));
    await sleep(1000);
    const summary = await agent.stop();
    expect(summary.unsent).toBe(0);
    expect(summary.lost).toEqual({ batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 });
    const sent = teeSamples(tee);
    expect(sent.length).toBe(summary.samples);
    const stored = storedSamples(data, 'kill-test');
    expect(stored.length).toBe(sent.length);
    expect(contentKeys(stored)).toEqual(contentKeys(sent));
    expect(agent.stderr()).toMatch(/reconnecting in \d+ ms/);
  });

  it(`spools through a ${OUTAGE_S} s outage (collector frozen) and delivers all of it afterwards`, async () => {
    const data = tempDir();
    const spool = tempDir();
    const tee = path.join(tempDir(), 'tee.jsonl');
    const col = await startCollectorProc(data);
    running.push(col);
    const agent = startAgentDaemon(col.url, spool, ['--tee', tee, '--run-id', 'outage-test']);
    running.push(agent);
    await waitFor('samples stored', async () => (await metric(col.url, 'stagewatch_collector_samples_stored_total')) > 20);
    // SIGSTOP: the TCP connection stays up but nothing answers, as when a network path dies.
    col.proc.kill('SIGSTOP');
    await sleep(OUTAGE_S * 1000);
    col.proc.kill('SIGCONT');
    await waitFor('the agent to find the link dead', () => /no heartbeat for \d+ ms/.test(agent.stderr()));
    const summary = await agent.stop();
    expect(summary.unsent).toBe(0);
    const sent = teeSamples(tee);
    expect(contentKeys(storedSamples(data, 'outage-test'))).toEqual(contentKeys(sent));
  });

  it('spools while no collector exists yet, and sends it all once one starts', async () => {
    const data = tempDir();
    const spool = tempDir();
    const tee = path.join(tempDir(), 'tee.jsonl');
    // Find a free port, then leave it empty for the agent to knock on.
    const probe = await startCollectorProc(tempDir());
    probe.proc.kill('SIGKILL');
    await probe.proc;
    const agent = startAgentDaemon(probe.url, spool, ['--tee', tee, '--run-id', 'late-collector']);
    running.push(agent);
    await waitFor('refused connections', () => /ECONNREFUSED/.test(agent.stderr()));
    await sleep(1500);
    const col = await startCollectorProc(data, probe.port);
    running.push(col);
    await waitFor('the agent to connect', () => /connected from/.test(col.stderr()));
    const summary = await agent.stop();
    expect(summary.unsent).toBe(0);
    expect(contentKeys(storedSamples(data, 'late-collector'))).toEqual(contentKeys(teeSamples(tee)));
  });
});
