import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/agent.js';
import { ROOT } from './helpers/fixtures.js';

const SCRIPT = path.join(ROOT, 'scripts', 'ensure-test-deps.mjs');

/** A PATH holding only node (and apt-get where asked): what a bare machine has. */
function barePath(withApt: boolean): string {
  const dir = tempDir();
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  chmodSync(dir, 0o755); // readable by the unprivileged user below
  symlinkSync(process.execPath, path.join(bin, 'node'));
  if (withApt) symlinkSync('/bin/true', path.join(bin, 'apt-get'));
  return bin;
}

describe('npm test sets up what the tests need (pretest)', () => {
  it('passes quietly when everything is there', async () => {
    const r = await execa(process.execPath, [SCRIPT], { reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('not root: names each missing program and the exact apt-get line, and fails before any test', async () => {
    const r = await execa('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, SCRIPT], {
      reject: false,
      env: { PATH: barePath(true), STAGEWATCH_CHROMIUM: '/nonexistent/chromium' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('missing: Chromium (browser tests, via playwright-core); victoria-metrics (InfluxDB-protocol sink tests); openssl (TLS test certificate); python3 (the Python marks client); gcc with the C library headers (the stand-in libdcgm)');
    expect(r.stderr).toContain('install them first: sudo apt-get install -y --no-install-recommends chromium victoria-metrics openssl python3 gcc libc6-dev');
    expect(r.stderr).toContain('or point the tests at existing binaries: STAGEWATCH_CHROMIUM=/path/to/chromium STAGEWATCH_VICTORIA_METRICS=/path/to/victoria-metrics');
  });

  it('no apt-get: says so rather than guessing a package manager', async () => {
    const r = await execa(process.execPath, [SCRIPT], { reject: false, env: { PATH: barePath(false), STAGEWATCH_CHROMIUM: '/nonexistent/chromium' } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('this is not a Debian-like system (no apt-get): install chromium, victoria-metrics, openssl, python3, gcc, libc6-dev');
  });

  it('.ci/run runs the README\'s commands and nothing else', async () => {
    const { readFileSync } = await import('node:fs');
    const ci = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const commands = ci.split('\n').filter((l) => /^npm /.test(l));
    expect(commands).toEqual(['npm ci --no-audit --no-fund', 'npm test']);
    expect(readme).toMatch(/^npm ci +#/m);
    expect(readme).toMatch(/^npm test +#/m);
  });
});
