#!/usr/bin/env node
// The collector ingest benchmark (collector-ingest.mjs) against PostgreSQL: starts a throw-away
// PostgreSQL server (Debian's; STAGEWATCH_PG_BIN names another bin dir), runs the benchmark with
// --store, and adds the server's own CPU to the figures (the database works for the collector).
// Written apart from test/helpers/postgres.ts because benchmarks run as plain node, without
// the TypeScript toolchain.
//   node test/bench/pg-ingest.mjs [the collector-ingest.mjs flags]
//   node test/bench/pg-ingest.mjs --script pg-retention-run.mjs [its flags]
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = '/usr/lib/postgresql';
const bin = process.env.STAGEWATCH_PG_BIN ?? path.join(root, readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => b - a)[0], 'bin');
const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-pg-bench-'));
const asRoot = process.getuid() === 0;
// PostgreSQL will not run as root: then as the postgres user.
const as = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
const data = path.join(dir, 'data');
execFileSync(...as(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']), { stdio: 'ignore' });
const port = await new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
// Durable commits (fsync on, as in production): the collector acks only what PostgreSQL committed.
const server = spawn(...as(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1']), { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
await new Promise((resolve, reject) => {
  server.stderr.on('data', (d) => { log += d; if (/ready to accept connections/.test(log)) resolve(); });
  server.on('exit', () => reject(new Error(log)));
});
const postmaster = () => Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
/**
 * CPU ticks of the server: the postmaster and its children, sampled every 250 ms while the
 * benchmark runs, because a backend's ticks go with it when the collector disconnects.
 */
const seen = new Map();
const sample = () => {
  const pm = postmaster();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(p) === pm || Number(f[1]) === pm) seen.set(p, Number(f[11]) + Number(f[12]));
    } catch {
      // Gone meanwhile.
    }
  }
};
const cpu = () => [...seen.values()].reduce((a, b) => a + b, 0);
const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
const t0 = Date.now();
sample();
const c0 = cpu();
const poll = setInterval(sample, 250);
// --script NAME (first): another benchmark run against the server (pg-retention-run.mjs).
const [script, args] = process.argv[2] === '--script' ? [process.argv[3], process.argv.slice(4)] : ['collector-ingest.mjs', process.argv.slice(2)];
const bench = spawn(process.execPath, [path.join(here, script), ...args, '--store', url], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
bench.stdout.on('data', (d) => (out += d));
const code = await new Promise((resolve) => bench.on('exit', resolve));
clearInterval(poll);
sample();
const cores = (cpu() - c0) / 100 / ((Date.now() - t0) / 1000);
execFileSync(...as(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w']), { stdio: 'ignore' });
rmSync(dir, { recursive: true, force: true });
if (code !== 0) process.exit(1);
const res = JSON.parse(out.trim().split('\n').at(-1));
// Over the whole benchmark (set-up and wind-down included): an upper bound on the ingest's share.
res.postgresCpuCores = Math.round(cores * 100) / 100;
res.postgres = execFileSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
console.log(JSON.stringify(res));
