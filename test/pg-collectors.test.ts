import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveMessage } from '../collector/src/live.js';
import { DEFAULT_THRESHOLDS } from '../collector/src/analysis/thresholds.js';
import { makeReport } from '../collector/src/report/index.js';
import { bucketSeriesFromStore } from '../collector/src/report/series.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { startPostgres, withPgClient, type PgServer } from './helpers/postgres.js';
import { COLLECTOR_BIN, contentKeys, startAgentDaemon, startCollectorProc, teeSamples, waitFor, type AgentProc, type CollectorProc } from './helpers/processes.js';
import { useScratch } from './helpers/scratch.js';

const scratch = useScratch('stagewatch-pg-collectors-');
const RUN = 'pg-shared';
const running: Array<AgentProc | CollectorProc> = [];
let server: PgServer;

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(async () => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
  await server?.stop();
});

async function storedCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^stagewatch_collector_samples_stored_total (\S+)$/m.exec(text)?.[1] ?? NaN);
}

/** Opens /live for a host on a collector and gathers the samples of its updates (not of the backfill). */
function liveSamples(url: string, host: string): { samples: Array<{ t: number }>; close: () => void } {
  const out: Array<{ t: number }> = [];
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/live?host=${encodeURIComponent(host)}`);
  ws.on('message', (d) => {
    const msg = JSON.parse(d.toString()) as LiveMessage;
    if (msg.type === 'update') out.push(...msg.samples);
  });
  return { samples: out, close: () => ws.close() };
}

describe('two collectors on one PostgreSQL', () => {
  it('agents spread over both; one collector is SIGKILLed; every sample is stored exactly once, and the survivor serves the whole run', async () => {
    await server.createDatabase('shared');
    const url = server.urlOf('shared');
    const a = await startCollectorProc(null, 0, ['--store', url]);
    const b = await startCollectorProc(null, 0, ['--store', url]);
    running.push(a, b);
    const ws = (u: string): string => u.replace(/^http/, 'ws');
    // Four agents (four hosts), two preferring each collector: the spread a shared address gives.
    const agents = [0, 1, 2, 3].map((i) => {
      const tee = path.join(scratch(), 'tee.jsonl');
      const order = i % 2 === 0 ? [a, b] : [b, a];
      const proc = startAgentDaemon(order.map((c) => ws(c.url)).join(','), scratch(), ['--tee', tee, '--run-id', RUN, '--host', `node${i}`]);
      running.push(proc);
      return { proc, tee, host: `node${i}`, first: order[0] as CollectorProc };
    });
    // A live view on B of an agent that streams to A (LISTEN/NOTIFY between the collectors).
    const live = liveSamples(b.url, 'node0');
    await waitFor('samples stored through both collectors', async () => (await storedCount(a.url)) > 600 && (await storedCount(b.url)) > 600, 60_000);
    await waitFor('the live view on B to show samples node0 streams to A', () => live.samples.length > 20, 30_000);
    live.close();
    expect(a.stderr()).toMatch(/agent \S+ on node0 connected/);
    expect(b.stderr()).not.toMatch(/agent \S+ on node0 connected/);

    a.proc.kill('SIGKILL');
    await a.proc;
    for (const g of agents.filter((x) => x.first === a)) {
      await waitFor(`${g.host} to move to B`, () => new RegExp(`agent \\S+ on ${g.host} connected`).test(b.stderr()), 30_000);
    }
    const afterKill = await storedCount(b.url);
    await waitFor('more samples through B', async () => (await storedCount(b.url)) > afterKill + 400, 60_000);
    const summaries = await Promise.all(agents.map((g) => g.proc.stop()));
    for (const s of summaries) {
      expect(s.unsent).toBe(0);
      expect(s.lost).toEqual({ batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 });
    }

    // Exactly once, from the database itself: each agent's seqs 1..n, each once, holding what the agent sent.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const hosts = new Map((await c.query<{ id: string; host: string }>('SELECT a.id, h.name AS host FROM agents a JOIN hosts h ON h.hid = a.hid')).rows.map((r) => [r.host, r.id]));
    for (const [i, g] of agents.entries()) {
      const seqs = (await c.query<{ seq: string; samples: number }>('SELECT seq, samples FROM batches WHERE agent_id = $1 ORDER BY seq', [hosts.get(g.host)])).rows;
      expect(seqs.map((r) => Number(r.seq))).toEqual(Array.from({ length: summaries[i]?.batches ?? -1 }, (_, k) => k + 1));
      expect(seqs.reduce((n, r) => n + r.samples, 0)).toBe(teeSamples(g.tee).length);
    }
    const stored = (await c.query<{ n: number }>('SELECT sum(n)::int AS n FROM blocks')).rows[0]?.n;
    await c.end();
    const sent = agents.flatMap((g) => teeSamples(g.tee));
    expect(stored).toBe(sent.length);

    // The survivor serves the run; an export of it (read from PostgreSQL) imported into SQLite
    // holds every sample sent and reports the same.
    const served = (await (await fetch(`${b.url}/api/runs/${RUN}/report?format=json`)).json()) as { run: { hosts: string[] } };
    expect(served.run.hosts).toEqual(agents.map((g) => g.host));
    const file = path.join(scratch(), 'run.swrun.gz');
    const dir = scratch();
    await execa(process.execPath, [COLLECTOR_BIN, 'export', RUN, '--store', url, '--out', file]);
    await execa(process.execPath, [COLLECTOR_BIN, 'import', file, '--data', dir]);
    const sqlite = new SqliteStore(dir);
    try {
      expect(contentKeys(sqlite.samples(RUN))).toEqual(contentKeys(sent));
      expect(JSON.parse(JSON.stringify(makeReport(sqlite, RUN)))).toEqual(served);
      // The UI's reads, from the survivor: the runs, and each host's series, as the SQLite copy gives them.
      const api = async (p: string): Promise<unknown> => (await fetch(`${b.url}${p}`)).json();
      expect((await api('/api/runs')) as Array<{ id: string }>).toEqual([expect.objectContaining({ id: RUN, hosts: agents.map((g) => g.host) })]);
      for (const g of agents) {
        const series = bucketSeriesFromStore(sqlite, RUN, g.host, 600, DEFAULT_THRESHOLDS.gpmLagMs);
        expect(await api(`/api/runs/${RUN}/series?host=${g.host}`)).toEqual(JSON.parse(JSON.stringify(series)));
      }
    } finally {
      sqlite.close();
    }
    // The survivor shuts down cleanly: its connections to the database do not hold it.
    b.proc.kill('SIGTERM');
    expect((await b.proc).exitCode).toBe(0);
    console.log(`pg collectors: ${summaries.map((s) => s.batches).join('+')} batches, ${sent.length} samples, stored once each; live on B saw ${live.samples.length} samples of node0 via A`);
  }, 240_000);
});

/**
 * One address in front of several collectors, as a TCP load balancer gives them: each new
 * connection goes to the next backend in turn; one that refuses it closes the client's socket
 * (the agent reconnects, and lands on the next).
 */
async function roundRobin(backends: readonly number[]): Promise<{ url: string; close: () => void }> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const lb = net.createServer((client) => {
    const port = backends[next++ % backends.length] as number;
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => lb.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(lb.address() as net.AddressInfo).port}`,
    close: () => {
      lb.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe('collectors behind one address on one PostgreSQL', () => {
  it('agents given one address land on both; one collector is SIGKILLed; every sample is stored exactly once', async () => {
    await server.createDatabase('one_address');
    const url = server.urlOf('one_address');
    const a = await startCollectorProc(null, 0, ['--store', url]);
    const b = await startCollectorProc(null, 0, ['--store', url]);
    running.push(a, b);
    const lb = await roundRobin([a.port, b.port]);
    try {
      const agents = [0, 1, 2, 3].map((i) => {
        const tee = path.join(scratch(), 'tee.jsonl');
        const proc = startAgentDaemon(lb.url.replace(/^http/, 'ws'), scratch(), ['--tee', tee, '--run-id', 'pg-lb', '--host', `lb${i}`]);
        running.push(proc);
        return { proc, tee, host: `lb${i}` };
      });
      await waitFor('samples stored through both collectors', async () => (await storedCount(a.url)) > 400 && (await storedCount(b.url)) > 400, 60_000);
      a.proc.kill('SIGKILL');
      await a.proc;
      const afterKill = await storedCount(b.url);
      await waitFor('every agent on B', () => agents.every((g) => new RegExp(`agent \\S+ on ${g.host} connected`).test(b.stderr())), 30_000);
      await waitFor('more samples through B', async () => (await storedCount(b.url)) > afterKill + 400, 60_000);
      const summaries = await Promise.all(agents.map((g) => g.proc.stop()));
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      for (const [i, g] of agents.entries()) {
        expect(summaries[i]?.unsent).toBe(0);
        const rows = (await c.query<{ seq: string; samples: number }>('SELECT b.seq, b.samples FROM batches b JOIN agents a ON a.id = b.agent_id JOIN hosts h ON h.hid = a.hid WHERE h.name = $1 ORDER BY b.seq', [g.host])).rows;
        expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: summaries[i]?.batches ?? -1 }, (_, k) => k + 1));
        expect(rows.reduce((n, r) => n + r.samples, 0)).toBe(teeSamples(g.tee).length);
      }
      await c.end();
    } finally {
      lb.close();
    }
  }, 180_000);
});

describe('a collector on PostgreSQL through an outage of the database', () => {
  it('PostgreSQL stops for a while mid-run: the agent keeps its batches, and once the database is back every sample is stored exactly once', async () => {
    await server.createDatabase('outage');
    const url = server.urlOf('outage');
    const col = await startCollectorProc(null, 0, ['--store', url]);
    running.push(col);
    const tee = path.join(scratch(), 'tee.jsonl');
    const agent = startAgentDaemon(col.url.replace(/^http/, 'ws'), scratch(), ['--tee', tee, '--run-id', 'pg-outage', '--host', 'outage-node']);
    running.push(agent);
    await waitFor('samples stored', async () => (await storedCount(col.url)) > 300, 60_000);
    await server.down();
    // Up again only once the agent was refused for it (its batches wait in its spool meanwhile).
    await waitFor('the collector to refuse the agent for the store', () => /1011 store write failed/.test(col.stderr()), 30_000);
    await waitFor('the agent to back off', () => /reconnecting in \d+ ms/.test(agent.stderr()), 30_000);
    await server.up();
    const before = await storedCount(col.url);
    await waitFor('samples stored after the outage', async () => (await storedCount(col.url)) > before + 400, 60_000);
    const summary = await agent.stop();
    expect(summary.unsent).toBe(0);
    expect(summary.lost).toEqual({ batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 });
    const { seqs, stored } = await withPgClient(url, async (c) => ({
      seqs: (await c.query<{ seq: string }>('SELECT seq FROM batches ORDER BY seq')).rows.map((r) => Number(r.seq)),
      stored: (await c.query<{ n: number }>('SELECT sum(n)::int AS n FROM blocks')).rows[0]?.n,
    }));
    expect(seqs).toEqual(Array.from({ length: summary.batches }, (_, k) => k + 1));
    expect(stored).toBe(teeSamples(tee).length);
    col.proc.kill('SIGTERM');
    expect((await col.proc).exitCode).toBe(0);
    console.log(`pg outage: ${summary.batches} batches, ${stored} samples stored once each across a stop and start of PostgreSQL`);
  }, 180_000);
});
