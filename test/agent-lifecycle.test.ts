import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { tempDir } from './helpers/agent.js';
import { AGENT_BIN, FAKE_SMI } from './helpers/fixtures.js';
import { COLLECTOR_BIN, startAgentDaemon, startCollectorProc, storedSamples, waitFor, type AgentProc, type CollectorProc } from './helpers/processes.js';
import { freePort } from './helpers/victoria.js';

const running: Array<AgentProc | CollectorProc> = [];
afterEach(() => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});

const FAKE_ENV = { STAGEWATCH_NVIDIA_SMI: FAKE_SMI, STAGEWATCH_FAKE_SMI_SPEED: '20' };

function runOf(data: string, runId: string) {
  const store = new SqliteStore(data, { mustExist: true });
  try {
    return { run: store.run(runId), marks: store.marks(runId) };
  } finally {
    store.close();
  }
}

describe('agent: the collector address and what a refusal means', () => {
  it('streams with the address given with /agent, as the README gives it', async () => {
    const data = tempDir();
    const col = await startCollectorProc(data);
    running.push(col);
    const agent = startAgentDaemon(`${col.url}/agent`, tempDir(), ['--run-id', 'with-path']);
    running.push(agent);
    await waitFor('samples stored', () => /connected from/.test(col.stderr()));
    const summary = await agent.stop();
    expect(summary.unsent).toBe(0);
    expect(agent.stderr()).toMatch(/connected to ws:\/\/127\.0\.0\.1:\d+\/agent/);
    expect(storedSamples(data, 'with-path').length).toBeGreaterThan(0);
  });

  it('a 404 (not a collector there) is a configuration error in words; the daemon stops retrying and exits 2', async () => {
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await execa(process.execPath, [AGENT_BIN, 'daemon', '--collector', `ws://127.0.0.1:${port}/wrong`, '--spool-dir', tempDir(), '--interval-ms', '100', '--backoff-max-ms', '200'], { reject: false, timeout: 20_000, env: FAKE_ENV });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`ERROR: configuration error: nothing at ws://127\\.0\\.0\\.1:${port}/wrong/agent \\(HTTP 404\\): --collector must be the collector's address`));
      expect(r.stderr).not.toMatch(/reconnecting in/);
      expect(r.stderr).toMatch(/summary \{/);
    } finally {
      server.close();
    }
  });

  it('a wrong token (401) names --token; the daemon stops and exits 2, its samples left in the spool', async () => {
    const col = await startCollectorProc(tempDir(), 0, ['--token', 'the-right-token-1']);
    running.push(col);
    const r = await execa(process.execPath, [AGENT_BIN, 'daemon', '--collector', col.url.replace('http', 'ws'), '--token', 'a-wrong-token-22', '--spool-dir', tempDir(), '--interval-ms', '100'], { reject: false, timeout: 20_000, env: FAKE_ENV });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/configuration error: collector refused the token \(HTTP 401\): give the collector's token with --token or STAGEWATCH_TOKEN; not retrying \(\d+ batches stay spooled\)/);
    expect(r.stderr).not.toContain('a-wrong-token-22');
    // `marks` does not sit out its --drain-s waiting for acknowledgements that cannot come.
    const file = path.join(tempDir(), 'marks.jsonl');
    writeFileSync(file, `${JSON.stringify({ t: Date.now(), kind: 'begin', stage: 'x' })}\n`);
    const marks = await execa(process.execPath, [AGENT_BIN, 'marks', '--collector', col.url, '--token', 'a-wrong-token-22', '--run-id', 'm', '--drain-s', '600', file], { reject: false, timeout: 60_000 });
    expect(marks.timedOut).toBe(false);
    expect(marks.exitCode).toBe(1);
    expect(marks.stderr).toMatch(/configuration error: collector refused the token \(HTTP 401\)/);
  });
});

describe('agent: config file and JSON logs', () => {
  it('takes --collector and --run-id from a YAML config, a flag overriding one, and logs JSON with levels', async () => {
    const data = tempDir();
    const col = await startCollectorProc(data);
    running.push(col);
    const cfg = path.join(tempDir(), 'agent.yaml');
    writeFileSync(cfg, `collector: ${col.url.replace('http', 'ws')}/agent\nrun-id: from-config\ninterval-ms: 100\nlog-format: json\n`);
    const proc = execa(process.execPath, [AGENT_BIN, 'daemon', '--config', cfg, '--run-id', 'from-flag', '--spool-dir', tempDir(), '--drain-s', '5'], { reject: false, env: FAKE_ENV });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor('the agent streaming', () => /connected from/.test(col.stderr()));
    await sleep(500);
    proc.kill('SIGTERM');
    expect((await proc).exitCode).toBe(0);
    const lines = err.trim().split('\n').map((l) => JSON.parse(l) as { level: string; tool: string; msg: string });
    expect(lines.every((l) => l.tool === 'stagewatch-agent' && ['debug', 'info', 'warn', 'error'].includes(l.level))).toBe(true);
    expect(lines.some((l) => /streaming .* \(run from-flag\)/.test(l.msg))).toBe(true);
    expect(storedSamples(data, 'from-flag').length).toBeGreaterThan(0);
  });
});

describe('agent: runs and their ends', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('a workload interrupted by %s is stored as interrupted, exit %i, and the report says so', async (signal, code) => {
    const data = tempDir();
    const col = await startCollectorProc(data);
    running.push(col);
    const runId = `interrupted-${signal}`;
    const proc = execa(process.execPath, [AGENT_BIN, 'run', '--collector', col.url.replace('http', 'ws'), '--run-id', runId, '--spool-dir', tempDir(), '--', process.execPath, '-e', 'console.log("working"); setInterval(() => {}, 1000)'], { reject: false, env: FAKE_ENV });
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the workload to start', () => out.includes('working'));
    await sleep(500);
    proc.kill(signal);
    const r = await proc;
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toContain(`workload interrupted by ${signal} (exit ${code})`);
    await waitFor('the run ended', () => runOf(data, runId).run?.endedAt);
    expect(runOf(data, runId).run).toMatchObject({ exitCode: code, signal });
    const api = (await (await fetch(`${col.url}/api/runs`)).json()) as Array<{ id: string; signal: string | null; exitCode: number | null }>;
    expect(api.find((x) => x.id === runId)).toMatchObject({ signal, exitCode: code });
    col.proc.kill('SIGTERM');
    await col.proc;
    const report = await execa(process.execPath, [COLLECTOR_BIN, 'report', runId, '--data', data]);
    expect(report.stdout).toContain(`interrupted by ${signal} (exit ${code})`);
  });

  it('Ctrl-C at a terminal (SIGINT to the whole process group) stops the agent without a spurious nvidia-smi failure', async () => {
    const col = await startCollectorProc(tempDir());
    running.push(col);
    // detached: the agent leads its own process group, as a shell's foreground job does.
    const proc = execa(process.execPath, [AGENT_BIN, 'daemon', '--collector', col.url.replace('http', 'ws'), '--spool-dir', tempDir(), '--interval-ms', '100', '--drain-s', '2', '--gpu-backend', 'nvidia-smi'], { reject: false, detached: true, env: FAKE_ENV });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor('the agent streaming', () => /connected to/.test(err));
    await sleep(800);
    process.kill(-(proc.pid as number), 'SIGINT');
    const r = await proc;
    expect(r.exitCode).toBe(0);
    expect(err).toMatch(/summary \{/);
    expect(err).not.toMatch(/restarting|giving up|nvidia-smi failed/);
  });

  it('a run starts at its first data, not when the collector first heard of it; reconnects and catch-up are logged', async () => {
    const data = tempDir();
    const port = await freePort();
    // The collector is not there yet: the agent samples into its spool.
    const agent = startAgentDaemon(`http://127.0.0.1:${port}`, tempDir(), ['--run-id', 'late-collector']);
    running.push(agent);
    await waitFor('the agent sampling and retrying', () => /reconnecting in/.test(agent.stderr()));
    await sleep(1000);
    const beforeCollector = Date.now();
    let col = await startCollectorProc(data, port);
    running.push(col);
    await waitFor('the backlog sent', () => /caught up: \d+ batches sent \(\d+ were spooled\) in [\d.]+ s/.test(agent.stderr()));
    expect(agent.stderr()).toMatch(/connected to ws:\/\/127\.0\.0\.1:\d+\/agent; \d+ batches spooled from before to send/);
    // A break: the collector dies and comes back.
    col.proc.kill('SIGKILL');
    await col.proc;
    await sleep(1500);
    col = await startCollectorProc(data, port);
    running.push(col);
    await waitFor('reconnect logged', () => /reconnected to ws:\/\/127\.0\.0\.1:\d+\/agent after [\d.]+ s; \d+ batches spooled to resend/.test(agent.stderr()));
    await waitFor('second catch-up logged', () => (agent.stderr().match(/caught up:/g) ?? []).length >= 2);
    await agent.stop();
    col.proc.kill('SIGTERM');
    await col.proc;
    const samples = storedSamples(data, 'late-collector');
    const first = Math.min(...samples.map((s) => s.t));
    const { run } = runOf(data, 'late-collector');
    expect(run?.startedAt).toBe(first);
    // Its first samples were taken while no collector was there to hear of the run.
    expect(first).toBeLessThan(beforeCollector - 500);
  });
});
