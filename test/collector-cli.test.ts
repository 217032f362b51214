import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/agent.js';
import { COLLECTOR_BIN, contentKeys, startAgentDaemon, startCollectorProc, storedSamples, teeSamples, waitFor, type AgentProc, type CollectorProc } from './helpers/processes.js';

const running: Array<AgentProc | CollectorProc> = [];
afterEach(() => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});

const serve = (args: string[]) => execa(process.execPath, [COLLECTOR_BIN, 'serve', '--data', tempDir(), ...args], { reject: false, timeout: 10_000 });

describe('stagewatch-collector serve flags', () => {
  it.each([
    [['--host', '0.0.0.0'], /--host 0.0.0.0 is not a loopback address: --token or --tokens-file is required/],
    [['--port', '70000'], /--port must be an integer from 0 to 65535 \(got "70000"\)/],
    [['--token', 'short'], /--token must be at least 8 characters/],
    [['--tls-cert', 'x.pem'], /--tls-cert and --tls-key go together/],
    [['--tokens-file', '/nonexistent/tokens'], /--tokens-file \/nonexistent\/tokens: ENOENT/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const r = await serve(args as string[]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(message);
  });
});

describe('collector over TLS with a tokens file', () => {
  it('streams an agent over wss:// with a token that never appears in the logs', async () => {
    const dir = tempDir();
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
    const token = 'tls-secret-token-42';
    writeFileSync(path.join(dir, 'tokens'), `# agents\n${token}\nanother-token-123\n`);
    const data = tempDir();
    const col = await startCollectorProc(data, 0, ['--tls-cert', cert, '--tls-key', key, '--tokens-file', path.join(dir, 'tokens')]);
    running.push(col);
    expect(col.stderr()).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/);
    const url = `wss://127.0.0.1:${col.port}`;
    const tee = path.join(tempDir(), 'tee.jsonl');
    const agent = startAgentDaemon(url, tempDir(), ['--token', token, '--run-id', 'tls-run', '--tee', tee], { NODE_EXTRA_CA_CERTS: cert });
    running.push(agent);
    await waitFor('the agent to connect', () => /connected from/.test(col.stderr()));
    const wrong = startAgentDaemon(url, tempDir(), ['--token', 'not-the-token-000', '--run-id', 'tls-wrong', '--drain-s', '1'], { NODE_EXTRA_CA_CERTS: cert });
    running.push(wrong);
    await waitFor('the wrong token refused', () => /collector refused the token \(HTTP 401\)/.test(wrong.stderr()));
    expect((await wrong.stop()).unsent).toBeGreaterThan(0);
    const summary = await agent.stop();
    expect(summary.unsent).toBe(0);
    expect(contentKeys(storedSamples(data, 'tls-run'))).toEqual(contentKeys(teeSamples(tee)));
    expect(storedSamples(data, 'tls-wrong')).toEqual([]);
    expect(col.stderr()).toMatch(/missing or wrong token/);
    expect(col.stderr()).not.toContain(token);
    expect(col.stderr()).not.toContain('not-the-token-000');
  });
});
