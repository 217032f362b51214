import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '@stagewatch/shared';
import { tempDir } from './helpers/agent.js';
import { FAKE_SMI, ROOT } from './helpers/fixtures.js';

const pkgVersion = (p: string): string => (JSON.parse(readFileSync(path.join(ROOT, p), 'utf8')) as { version: string }).version;
const NAME = `stagewatch-agent-${VERSION}-linux-x64`;
let out: string;
let first: string;

beforeAll(async () => {
  out = tempDir('stagewatch-release-');
  const r = await execa(process.execPath, [path.join(ROOT, 'scripts', 'release.mjs'), '--out', out, 'linux-x64']);
  first = String(r.stdout);
}, 120_000);

describe('release artifact', () => {
  it('one version everywhere: every package.json, the code and the artifact name', () => {
    for (const p of ['package.json', 'shared/package.json', 'agent/package.json', 'collector/package.json']) expect(pkgVersion(p), p).toBe(VERSION);
    expect(first).toContain(`${NAME}.tar.gz`);
  });

  it('has a checksum file sha256sum -c accepts', async () => {
    const sum = readFileSync(path.join(out, `${NAME}.tar.gz.sha256`), 'utf8');
    expect(sum).toBe(`${createHash('sha256').update(readFileSync(path.join(out, `${NAME}.tar.gz`))).digest('hex')}  ${NAME}.tar.gz\n`);
    const r = await execa('sha256sum', ['-c', `${NAME}.tar.gz.sha256`], { cwd: out });
    expect(r.stdout).toBe(`${NAME}.tar.gz: OK`);
  });

  it('unpacked anywhere, says its version and loads koffi from beside itself (NVML needs nothing placed by hand)', async () => {
    const dir = tempDir('stagewatch-unpacked-');
    await execa('tar', ['xzf', path.join(out, `${NAME}.tar.gz`), '-C', dir]);
    const cwd = path.join(dir, NAME);
    const version = await execa(process.execPath, ['agent.mjs', '--version'], { cwd, env: { NODE_PATH: '' } });
    expect(version.stdout).toBe(`stagewatch-agent ${VERSION}`);
    expect(readFileSync(path.join(cwd, 'VERSION'), 'utf8')).toBe(`${VERSION}\n`);
    const probe = await execa(process.execPath, ['agent.mjs', 'probe', '--json'], { cwd, env: { STAGEWATCH_NVIDIA_SMI: FAKE_SMI, NODE_PATH: '' } });
    const nvml = (JSON.parse(String(probe.stdout)) as { nvml: { error: string } }).nvml;
    // No GPU here: koffi loaded and tried the driver's library (without koffi the error names koffi).
    expect(nvml.error).toMatch(/cannot load libnvidia-ml\.so\.1/);
    expect(nvml.error).not.toMatch(/koffi/);
  });

  it('is reproducible: the same sources give the same bytes', async () => {
    const again = tempDir('stagewatch-release-');
    await execa(process.execPath, [path.join(ROOT, 'scripts', 'release.mjs'), '--out', again, 'linux-x64']);
    expect(readFileSync(path.join(again, `${NAME}.tar.gz.sha256`), 'utf8')).toBe(readFileSync(path.join(out, `${NAME}.tar.gz.sha256`), 'utf8'));
  });
});
