import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { waitFor } from './processes.js';

/** A real PostgreSQL server (Debian's package) in a temp dir, for the tests of the PostgreSQL engine. */
/** Runs fn on a fresh client of `url`, which is closed afterwards whatever fn does. */
export async function withPgClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** One statement on a fresh client. */
export const pgQuery = (url: string, text: string): Promise<pg.QueryResult> => withPgClient(url, (c) => c.query(text));

export interface PgServer {
  /** postgres://postgres@localhost:PORT/postgres over the server's unix socket. */
  url: string;
  /** A URL naming another database on the same server (created by createDatabase). */
  urlOf(db: string): string;
  createDatabase(db: string): Promise<void>;
  /** Stops the server (an outage) and starts it again on the same port and data. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** The directory of initdb/pg_ctl/postgres: STAGEWATCH_PG_BIN, or the newest Debian postgresql. */
export function pgBinDir(): string {
  const given = process.env.STAGEWATCH_PG_BIN;
  if (given) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no PostgreSQL server found (apt-get install postgresql, or set STAGEWATCH_PG_BIN to the dir of initdb)');
  return path.join(root, newest, 'bin');
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throw-away PostgreSQL, Debian's own server as the issue asks (not a server bundled in
 * an npm package): initdb into a temp dir, trust auth, a random port on 127.0.0.1
 * and the unix socket in the same dir. PostgreSQL refuses to run as root, and the tests run as
 * root on the test machines, so then the server runs as the `postgres` user (runuser).
 */
export async function startPostgres(): Promise<PgServer> {
  const bin = pgBinDir();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-pg-'));
  const asRoot = process.getuid?.() === 0;
  const as = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) {
    const { stdout } = await execa('id', ['-u', 'postgres']);
    const { stdout: gid } = await execa('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout), Number(gid));
  }
  const data = path.join(dir, 'data');
  const [initCmd, initArgs] = as(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  await execa(initCmd, initArgs);
  const port = await freePort();
  // fsync off: a test server's crash safety is not under test; the collectors' is SQL's own.
  const [pgCmd, pgArgs] = as(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=100']);
  // The process in an object: an async function returning the (thenable) process would wait for its exit.
  const launch = async (): Promise<{ p: ResultPromise }> => {
    const p: ResultPromise = execa(pgCmd, pgArgs, { reject: false });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor('PostgreSQL to accept connections', () => {
      if (p.exitCode !== null && p.exitCode !== undefined) throw new Error(`postgres exited: ${err}`);
      return /ready to accept connections/.test(err);
    });
    return { p };
  };
  // Fast shutdown (sessions are ended, then it exits). Through pg_ctl: a signal to runuser
  // does not reach the server.
  const halt = async (): Promise<void> => {
    const [c, a] = as(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w']);
    await execa(c, a, { reject: false });
    await server.p;
  };
  let server: { p: ResultPromise };
  try {
    server = await launch();
  } catch (e) {
    // Nothing left behind by a server that did not come up.
    await execa(...as(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate']), { reject: false });
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const urlOf = (db: string): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    url: urlOf('postgres'),
    urlOf,
    async createDatabase(db: string) {
      await pgQuery(urlOf('postgres'), `CREATE DATABASE "${db}"`);
    },
    async down() {
      await halt();
    },
    async up() {
      server = await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
