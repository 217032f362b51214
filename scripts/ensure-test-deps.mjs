#!/usr/bin/env node
// `npm test`'s pretest: the tests talk to real programs (Debian's chromium for the browser tests,
// victoria-metrics as an InfluxDB-protocol server, openssl for a TLS certificate, python3 for the
// Python marks client, the real tqdm drawing the progress bars the wan preset reads, gcc building
// the stand-in libdcgm from C). What is missing is installed with apt-get when this runs as root on
// Debian; otherwise it says exactly what to install and stops, before a test fails obscurely.
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const onPath = (cmd) => (process.env.PATH ?? '').split(path.delimiter).some((d) => d && isExecutable(path.join(d, cmd)));
function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Python has tqdm: the interpreters test/helpers/wan-logs.ts tries, in its order. */
const pythonHasTqdm = () => ['/usr/bin/python3', 'python3'].some((py) => spawnSync(py, ['-c', 'import tqdm'], { stdio: 'ignore' }).status === 0);
/** gcc can build what test/dcgm-standin/libdcgm-standin.c includes (libc headers come apart from gcc). */
const canCompileC = () =>
  spawnSync('gcc', ['-fsyntax-only', '-x', 'c', '-'], { input: '#include <stdio.h>\n#include <stdint.h>\n#include <sys/time.h>\nint main(void) { return 0; }\n', stdio: ['pipe', 'ignore', 'ignore'] }).status === 0;

/** A PostgreSQL server's initdb (test/helpers/postgres.ts starts a throw-away server): STAGEWATCH_PG_BIN, or Debian's. */
const hasPostgres = () => {
  if (process.env.STAGEWATCH_PG_BIN) return isExecutable(path.join(process.env.STAGEWATCH_PG_BIN, 'initdb'));
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => isExecutable(path.join(root, v, 'bin', 'initdb')));
};

/** What the tests run, how to tell it is there, and the Debian packages that bring it. */
const NEEDS = [
  { what: 'Chromium (browser tests, via playwright-core)', present: () => isExecutable(process.env.STAGEWATCH_CHROMIUM ?? '/usr/bin/chromium'), pkg: 'chromium', override: 'STAGEWATCH_CHROMIUM' },
  { what: 'victoria-metrics (InfluxDB-protocol sink tests)', present: () => (process.env.STAGEWATCH_VICTORIA_METRICS ? isExecutable(process.env.STAGEWATCH_VICTORIA_METRICS) : onPath('victoria-metrics')), pkg: 'victoria-metrics', override: 'STAGEWATCH_VICTORIA_METRICS' },
  { what: 'openssl (TLS test certificate)', present: () => onPath('openssl'), pkg: 'openssl' },
  { what: 'python3 (the Python marks client)', present: () => onPath('python3'), pkg: 'python3' },
  { what: 'tqdm for python3 (the wan preset on real progress bars)', present: pythonHasTqdm, pkg: 'python3-tqdm' },
  { what: 'gcc with the C library headers (the stand-in libdcgm)', present: canCompileC, pkg: ['gcc', 'libc6-dev'] },
  { what: 'a PostgreSQL server (the PostgreSQL store tests)', present: hasPostgres, pkg: 'postgresql', override: 'STAGEWATCH_PG_BIN' },
];

const missing = NEEDS.filter((n) => !n.present());
if (missing.length === 0) process.exit(0);
const pkgs = [...new Set(missing.flatMap((m) => m.pkg))];
const say = (msg) => process.stderr.write(`ensure-test-deps: ${msg}\n`);
say(`missing: ${missing.map((m) => m.what).join('; ')}`);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = onPath('apt-get');
if (!isRoot || !hasApt) {
  say(hasApt ? `install them first: sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}` : `this is not a Debian-like system (no apt-get): install ${pkgs.join(', ')} with its package manager`);
  const overrides = missing.filter((m) => m.override).map((m) => `${m.override}=/path/to/${m.pkg}`);
  if (overrides.length > 0) say(`or point the tests at existing binaries: ${overrides.join(' ')}`);
  process.exit(1);
}
const run = (args) => {
  say(args.join(' '));
  const r = spawnSync(args[0], args.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    say(`${args.slice(0, 2).join(' ')} failed (exit ${r.status ?? r.signal}); install by hand: apt-get install -y ${pkgs.join(' ')}`);
    process.exit(1);
  }
};
run(['apt-get', 'update']);
run(['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs]);
const still = NEEDS.filter((n) => !n.present());
if (still.length > 0) {
  say(`still missing after apt-get: ${still.map((m) => m.what).join('; ')}`);
  process.exit(1);
}
say(`installed ${pkgs.join(' ')}`);
