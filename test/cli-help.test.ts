import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { AGENT_BIN, ROOT } from './helpers/fixtures.js';
import { COLLECTOR_BIN } from './helpers/processes.js';

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TOOLS = {
  'stagewatch-agent': { bin: AGENT_BIN, commands: ['probe', 'sample', 'daemon', 'run', 'marks'] },
  'stagewatch-collector': { bin: COLLECTOR_BIN, commands: ['serve', 'report', 'compare', 'export', 'import'] },
} as const;
const cli = (bin: string, args: string[]) => execa(process.execPath, [bin, ...args], { reject: false, timeout: 20_000 });

describe.each(Object.entries(TOOLS))('%s --help and --version', (tool, { bin, commands }) => {
  it('prints the version of the package at the top level', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli(bin, [flag]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(`${tool} ${VERSION}`);
    }
  });

  it.each(commands)('%s --help prints its own usage and exits 0; --version works there too', async (cmd) => {
    const help = await cli(bin, [cmd, '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(new RegExp(`^usage: ${tool} ${cmd}\\b`));
    expect(help.stderr).toBe('');
    expect((await cli(bin, [cmd, '-h'])).stdout).toBe(help.stdout);
    expect((await cli(bin, ['help', cmd])).stdout).toBe(help.stdout);
    const version = await cli(bin, [cmd, '--version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toBe(`${tool} ${VERSION}`);
  });
});

describe('usage texts are complete', () => {
  it('the collector names every serve flag, --influx-* included', async () => {
    const { SERVE_FLAGS } = await import('../collector/src/config/flags.js');
    const usage = (await cli(COLLECTOR_BIN, ['serve', '--help'])).stdout;
    for (const flag of Object.keys(SERVE_FLAGS)) expect(usage, flag).toContain(`--${flag}`);
    const top = (await cli(COLLECTOR_BIN, ['--help'])).stdout;
    for (const flag of ['--influx-url', '--influx-org', '--influx-bucket', '--influx-token', '--config', '--log-format']) expect(top, flag).toContain(flag);
  });

  it('the agent names every flag each command takes (--label, --no-dcgm, --fingerprint-file, probe --fingerprint)', async () => {
    const { STREAM_FLAGS, RUN_FLAGS, PROBE_FLAGS, SAMPLE_FLAGS } = await import('../agent/src/config/flags.js');
    const flags = { probe: PROBE_FLAGS, sample: SAMPLE_FLAGS, daemon: { ...STREAM_FLAGS, pid: {} }, run: RUN_FLAGS };
    expect(Object.keys(RUN_FLAGS)).toEqual(expect.arrayContaining(['label', 'no-dcgm', 'fingerprint-file']));
    expect(Object.keys(PROBE_FLAGS)).toEqual(expect.arrayContaining(['fingerprint', 'no-dcgm']));
    for (const [cmd, known] of Object.entries(flags)) {
      const usage = (await cli(AGENT_BIN, [cmd, '--help'])).stdout;
      for (const flag of Object.keys(known)) expect(usage, `${cmd} --${flag}`).toContain(`--${flag}`);
    }
    const top = (await cli(AGENT_BIN, ['--help'])).stdout;
    for (const flag of ['--label', '--no-dcgm', '--fingerprint-file', '--fingerprint', '--out', '--run-id']) expect(top, flag).toContain(flag);
  });

  it('the collector names every report, compare, export and import flag', async () => {
    const { REPORT_FLAGS, COMPARE_FLAGS, EXPORT_FLAGS, IMPORT_FLAGS } = await import('../collector/src/config/flags.js');
    const top = (await cli(COLLECTOR_BIN, ['--help'])).stdout;
    for (const [cmd, known] of Object.entries({ report: REPORT_FLAGS, compare: COMPARE_FLAGS, export: EXPORT_FLAGS, import: IMPORT_FLAGS })) {
      const usage = (await cli(COLLECTOR_BIN, [cmd, '--help'])).stdout;
      for (const flag of Object.keys(known)) {
        expect(usage, `${cmd} --${flag}`).toContain(`--${flag}`);
        expect(top, `${cmd} --${flag}`).toContain(`--${flag}`);
      }
    }
  });

  it('--help after `--` belongs to the workload, not to the agent', async () => {
    const r = await cli(AGENT_BIN, ['run', '--collector', 'nope', '--', 'python', '--help']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--collector "nope" is not a URL/);
  });
});
