import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/agent.js';
import { COLLECTOR_BIN, startAgentDaemon, startCollectorProc, waitFor, type AgentProc, type CollectorProc } from './helpers/processes.js';

const running: Array<AgentProc | CollectorProc> = [];
afterEach(() => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});

const collector = (args: string[], cwd?: string) => execa(process.execPath, [COLLECTOR_BIN, ...args], { reject: false, timeout: 15_000, ...(cwd ? { cwd } : {}) });

describe('collector: listen errors end the process', () => {
  it('exits 1 naming the address and the cause when the port is taken (EADDRINUSE)', async () => {
    const first = await startCollectorProc(tempDir());
    running.push(first);
    const r = await collector(['serve', '--port', String(first.port), '--data', tempDir()]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}: the port is in use .*\\(EADDRINUSE\\)`));
    expect(r.timedOut).toBe(false);
  });

  it('exits 1 for an address this machine does not have (EADDRNOTAVAIL)', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned, so the bind fails without any traffic.
    const r = await collector(['serve', '--host', '192.0.2.1', '--token', 'a-token-for-the-test', '--port', '0', '--data', tempDir()]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cannot listen on 192\.0\.2\.1:0: no interface on this machine has that address; check --host \(EADDRNOTAVAIL\)/);
  });
});

describe('collector: one per data directory', () => {
  it('refuses a second collector on a held directory, naming the holder; a SIGKILLed holder does not block the next start', async () => {
    const data = tempDir();
    const first = await startCollectorProc(data);
    running.push(first);
    const second = await collector(['serve', '--port', '0', '--data', data]);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`data directory ${data} is in use by another collector \\(pid ${first.proc.pid} on .+ since .+\\); stop it or give another --data`));
    first.proc.kill('SIGKILL');
    await first.proc;
    const third = await startCollectorProc(data);
    running.push(third);
    expect(third.stderr()).toMatch(/listening on/);
    third.proc.kill('SIGTERM');
    expect((await third.proc).exitCode).toBe(0);
    expect(existsSync(path.join(data, 'collector.pid'))).toBe(false);
  });
});

describe('collector: config file and JSON logs', () => {
  it('takes its settings from --config, flags overriding, and logs JSON lines with levels', async () => {
    const dir = tempDir();
    const data = tempDir();
    const cfg = path.join(dir, 'collector.yaml');
    writeFileSync(cfg, `data: ${data}\nport: 1\nheartbeat-ms: 500\nlog-format: json\n`);
    const col = await startCollectorProc(path.join(dir, 'overridden-by-config?'), 0, ['--config', cfg, '--data', data]);
    running.push(col);
    const lines = col.stderr().trim().split('\n').map((l) => JSON.parse(l) as { level: string; tool: string; msg: string; time: string });
    expect(lines.at(-1)).toMatchObject({ level: 'info', tool: 'stagewatch-collector', msg: expect.stringMatching(`data in ${data}`) });
    expect(Number.isNaN(Date.parse(lines.at(-1)?.time ?? ''))).toBe(false);
  });

  it.each([
    ['port: [1]\n', /--config .*: port: expected text or a number/],
    ['prot: 7711\n', /--config .*: unknown key "prot" \(known: .*port.*\)/],
    ['port: 99999\n', /--port must be an integer from 0 to 65535 \(got "99999"\)/],
    ['log-format: xml\n', /--log-format must be one of text, json \(got "xml"\)/],
  ])('a bad config (%j) exits 2 with what is wrong', async (text, message) => {
    const cfg = path.join(tempDir(), 'c.yaml');
    writeFileSync(cfg, text);
    const r = await collector(['serve', '--config', cfg, '--data', tempDir()]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('report names its store and never creates one', () => {
  it('a missing store is an error naming the path; nothing is created', async () => {
    const cwd = tempDir();
    const r = await collector(['report', 'some-run'], cwd);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`no store at ${path.join(cwd, 'stagewatch-data', 'stagewatch.sqlite')} (give --data DIR`);
    expect(existsSync(path.join(cwd, 'stagewatch-data'))).toBe(false);
  });

  it('an unknown run names the store and the runs in it; an empty timeline says it has no stages', async () => {
    const data = tempDir();
    const col = await startCollectorProc(data);
    running.push(col);
    const agent = startAgentDaemon(col.url, tempDir(), ['--host', 'quiet-host', '--drain-s', '2']);
    running.push(agent);
    await waitFor('the timeline stored', async () => ((await (await fetch(`${col.url}/api/runs`)).json()) as unknown[]).length > 0);
    await agent.stop();
    const missing = await collector(['report', 'nope', '--data', data]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`no run "nope" in the store ${path.join(data, 'stagewatch.sqlite')}; runs there: timeline:quiet-host`);
    const timeline = await collector(['report', 'timeline:quiet-host', '--data', data]);
    expect(timeline.exitCode).toBe(0);
    expect(timeline.stdout).toMatch(/run timeline:quiet-host has no stages \(it is a host timeline/);
    expect(timeline.stderr).toContain(`run timeline:quiet-host from ${path.join(data, 'stagewatch.sqlite')}: run timeline:quiet-host has no stages`);
  });
});
