import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ByteWriter, StagewatchError, type Hello, type HostFingerprint, type WorkloadRuntime } from '@stagewatch/shared';
import { movedBlocks } from '../blocks.js';
import type { AgentRegistration, PendingBatch, WriteResult } from '../rows.js';
import type { PgIds } from './ids.js';

type Client = pg.ClientBase;

/** What a committed write teaches the collector's caches (applied only after COMMIT: a rollback teaches nothing). */
export interface Learned {
  runRids: Array<[key: string, rid: number]>;
  dataStarts: Array<[rid: number, t: number]>;
}

const newLearned = (): Learned => ({ runRids: [], dataStarts: [] });

/** The run's row id, creating the run (or the host's timeline) and its host link on first sight. */
async function ridFor(c: Client, ids: PgIds, learned: Learned, runId: string | null, host: string, hid: number, now: number): Promise<number> {
  const id = runId ?? `timeline:${host}`;
  const key = `${id}\u0000${hid}`;
  const known = ids.ridOf(key) ?? learned.runRids.find(([k]) => k === key)?.[1];
  if (known !== undefined) return known;
  const { rows } = await c.query<{ rid: number }>(
    'INSERT INTO runs(id, kind, started_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET id = excluded.id RETURNING rid',
    [id, runId ? 'run' : 'timeline', now],
  );
  const rid = (rows[0] as { rid: number }).rid;
  await c.query('INSERT INTO run_hosts(rid, hid) VALUES ($1, $2) ON CONFLICT DO NOTHING', [rid, hid]);
  learned.runRids.push([key, rid]);
  return rid;
}

/** As saveFingerprint (fingerprints.ts): stored unless the agent's latest of that kind for the run says the same. */
async function saveFingerprint(c: Client, row: { rid: number; hid: number; agentId: string; t: number; kind: 'host' | 'workload'; body: HostFingerprint | WorkloadRuntime }): Promise<void> {
  const body = JSON.stringify(row.body);
  const { rows } = await c.query<{ body: string }>(
    'SELECT body FROM fingerprints WHERE rid = $1 AND hid = $2 AND agent_id = $3 AND kind = $4 ORDER BY fid DESC LIMIT 1',
    [row.rid, row.hid, row.agentId, row.kind],
  );
  if (rows[0]?.body === body) return;
  await c.query('INSERT INTO fingerprints(rid, hid, agent_id, t, kind, body) VALUES ($1, $2, $3, $4, $5, $6)', [row.rid, row.hid, row.agentId, row.t, row.kind, body]);
}

/**
 * An agent's hello, in the caller's transaction; as SqliteStore.registerAgent. The key binding is
 * checked on the row the upsert leaves (it locks the row): of two collectors that register one
 * new agent id with different keys at once, the second sees the first's key and refuses.
 * `imported`: the hello comes from a run file (import); as on SQLite it is no claim on the id, so
 * no key is asked for and a bound one is kept (the upsert's coalesce keeps it).
 */
export async function registerAgentPg(c: Client, ids: PgIds, hello: Hello, now: number, agentKey: string | null, imported = false): Promise<{ reg: AgentRegistration; learned: Learned }> {
  const learned = newLearned();
  const keyHash = agentKey === null ? null : createHash('sha256').update(agentKey).digest('hex');
  const { rows: h } = await c.query<{ hid: number }>('INSERT INTO hosts(name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING hid', [hello.host]);
  const hid = (h[0] as { hid: number }).hid;
  const runId = hello.runId ?? `timeline:${hello.host}`;
  const rid = await ridFor(c, ids, learned, hello.runId, hello.host, hid, now);
  const { rows: a } = await c.query<{ keyHash: string | null; storedThrough: number }>(
    `INSERT INTO agents(id, hid, rid, first_seen, last_seen, hello, key_hash) VALUES ($1, $2, $3, $4, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET hid = excluded.hid, rid = excluded.rid, last_seen = excluded.last_seen, hello = excluded.hello,
       key_hash = coalesce(agents.key_hash, excluded.key_hash)
     RETURNING key_hash AS "keyHash", stored_through AS "storedThrough"`,
    [hello.agentId, hid, rid, now, JSON.stringify(hello), keyHash],
  );
  const bound = a[0] as { keyHash: string | null; storedThrough: number };
  if (bound.keyHash && bound.keyHash !== keyHash && !imported) {
    throw new StagewatchError('agent-key', `agent id ${hello.agentId} belongs to another agent (${keyHash ? 'its key does not match' : 'no key presented'})`);
  }
  if (hello.labels && Object.keys(hello.labels).length > 0) await c.query('UPDATE runs SET labels = $1 WHERE rid = $2', [JSON.stringify(hello.labels), rid]);
  for (const g of hello.gpus) {
    await c.query(
      `INSERT INTO gpus(hid, idx, uuid, name, mem_total_mib) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (hid, idx) DO UPDATE SET uuid = excluded.uuid, name = excluded.name, mem_total_mib = excluded.mem_total_mib`,
      [hid, g.index, g.uuid, g.name, g.memTotalMib ?? null],
    );
  }
  if (hello.fingerprint) await saveFingerprint(c, { rid, hid, agentId: hello.agentId, t: now, kind: 'host', body: hello.fingerprint });
  const storedThrough = await advanceStoredThrough(c, hello.agentId, Number(bound.storedThrough));
  return { reg: { rid, hid, runId, storedThrough }, learned };
}

/** As the SQLite store's: the end of the run of stored seqs 1..n, walked on from where the last hello left it. */
async function advanceStoredThrough(c: Client, agentId: string, from: number): Promise<number> {
  let through = from;
  for (;;) {
    const { rows } = await c.query<{ seq: number }>('SELECT seq FROM batches WHERE agent_id = $1 AND seq > $2 ORDER BY seq LIMIT 256', [agentId, through]);
    let i = 0;
    while (i < rows.length && (rows[i] as { seq: number }).seq === through + 1) through = (rows[i++] as { seq: number }).seq;
    if (i < 256) break;
  }
  // greatest: another collector's hello may have walked further meanwhile.
  if (through !== from) await c.query('UPDATE agents SET stored_through = greatest(stored_through, $1) WHERE id = $2', [through, agentId]);
  return through;
}

/** Block and mark row ids a commit made, for the notice other collectors read them by. */
export interface Written {
  res: WriteResult;
  learned: Learned;
  /** Per host: the bids of its new blocks and mids of its new marks. */
  byHost: Map<string, { bids: number[]; mids: number[] }>;
}

/**
 * Many batches in the caller's transaction (group commit); as SqliteStore.writeBatches. The
 * (agent, seq) rows go in first, in key order, with ON CONFLICT DO NOTHING: a batch another
 * collector committed is a duplicate here; one it is committing now makes this insert wait for
 * its end, then count as a duplicate (or as new, if that transaction rolled back). Metric ids
 * must already be known (PgIds.resolve, before the transaction).
 */
export async function writeBatchesPg(c: Client, ids: PgIds, items: readonly PendingBatch[], now: number): Promise<Written> {
  const learned = newLearned();
  const res: WriteResult = { duplicate: items.map(() => true), samples: 0 };
  const byHost = new Map<string, { bids: number[]; mids: number[] }>();
  // First of each (agent, seq) in the group, in key order (one lock order for every collector).
  const firsts = new Map<string, number>();
  items.forEach((it, i) => {
    const k = JSON.stringify([it.agentId, it.batch.seq]);
    if (!firsts.has(k)) firsts.set(k, i);
  });
  const order = [...firsts.values()].sort((x, y) => {
    const a = items[x] as PendingBatch;
    const b = items[y] as PendingBatch;
    return a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : a.batch.seq - b.batch.seq;
  });
  const { rows: fresh } = await c.query<{ agent_id: string; seq: number }>(
    `INSERT INTO batches(agent_id, seq, samples, stored_at) SELECT a, s, n, $4 FROM unnest($1::text[], $2::bigint[], $3::int[]) WITH ORDINALITY AS u(a, s, n, o)
     ORDER BY o ON CONFLICT DO NOTHING RETURNING agent_id, seq`,
    [order.map((i) => (items[i] as PendingBatch).agentId), order.map((i) => (items[i] as PendingBatch).batch.seq), order.map((i) => (items[i] as PendingBatch).samples), now],
  );
  const stored = new Set(fresh.map((r) => JSON.stringify([r.agent_id, Number(r.seq)])));
  const blocks: Array<[rid: number, hid: number, t0: number, t1: number, n: number, source: number, data: Buffer]> = [];
  const marks: unknown[][] = [];
  const hostByHid = new Map<number, string>();
  const writer = new ByteWriter(1 << 16);
  const idOf = (name: string): number => ids.metricId(name);
  const touched = new Set<string>();
  for (const i of order) {
    const { agentId, hid, host, batch, blocks: bs, samples } = items[i] as PendingBatch;
    if (!stored.has(JSON.stringify([agentId, batch.seq]))) continue;
    res.duplicate[i] = false;
    hostByHid.set(hid, host);
    res.samples += samples;
    touched.add(agentId);
    const rid = await ridFor(c, ids, learned, batch.runId, host, hid, now);
    const { shift, first, blocks: moved } = movedBlocks(bs, batch, idOf, writer);
    for (const m of moved) blocks.push([rid, hid, m.t0, m.t1, m.n, m.source, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)]);
    for (const k of batch.marks) {
      marks.push([rid, hid, agentId, k.t - shift, k.kind, k.stage, k.step ?? null, k.rank ?? null, k.gauges ? JSON.stringify(k.gauges) : null, k.source, k.timing ?? null, k.category ?? null, k.dropped ?? null, k.inferred ?? null]);
    }
    for (const h of batch.health) {
      await c.query('INSERT INTO health(agent_id, t, sampler, state, error, body) VALUES ($1, $2, $3, $4, $5, $6)', [agentId, Math.round(h.t - shift), h.sampler, h.state, h.error ?? null, JSON.stringify(h)]);
    }
    const l = batch.loss;
    if (l.batches > 0 || l.corrupt > 0 || l.rejected > 0) {
      await c.query(
        `INSERT INTO loss(agent_id, batches, samples, corrupt, rejected, quarantined_samples, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (agent_id) DO UPDATE SET batches = greatest(loss.batches, excluded.batches), samples = greatest(loss.samples, excluded.samples),
           corrupt = greatest(loss.corrupt, excluded.corrupt), rejected = greatest(loss.rejected, excluded.rejected),
           quarantined_samples = greatest(loss.quarantined_samples, excluded.quarantined_samples), updated_at = excluded.updated_at`,
        [agentId, l.batches, l.samples, l.corrupt, l.rejected, l.quarantinedSamples, now],
      );
    }
    // A run's first data only moves earlier: most batches skip the UPDATE.
    const known = learned.dataStarts.find(([r]) => r === rid)?.[1] ?? ids.dataStartOf(rid);
    if (first < known) {
      await c.query('UPDATE runs SET data_start = least(coalesce(data_start, $1), $1) WHERE rid = $2', [first, rid]);
      learned.dataStarts.push([rid, first]);
    }
    if (batch.runEnd) {
      await c.query("UPDATE runs SET ended_at = $1, exit_code = $2, signal = $3 WHERE rid = $4 AND kind = 'run'", [Math.round(batch.runEnd.t - shift), batch.runEnd.exitCode, batch.runEnd.signal ?? null, rid]);
    }
    if (batch.workload) await saveFingerprint(c, { rid, hid, agentId, t: now, kind: 'workload', body: batch.workload });
    if (batch.clock) await c.query('INSERT INTO clock(agent_id, t, offset_ms, error_ms) VALUES ($1, $2, $3, $4)', [agentId, now, batch.clock.offsetMs, batch.clock.errorMs]);
  }
  const hostOf = (host: string): { bids: number[]; mids: number[] } => {
    let e = byHost.get(host);
    if (!e) byHost.set(host, (e = { bids: [], mids: [] }));
    return e;
  };
  if (blocks.length > 0) {
    const col = (j: number): unknown[] => blocks.map((b) => b[j]);
    // In order: bids then number the blocks as they came (a read orders equal times by bid).
    const { rows } = await c.query<{ bid: number; hid: number }>(
      `INSERT INTO blocks(rid, hid, t0, t1, n, source, data)
       SELECT r, h, a, b, n, s, d FROM unnest($1::int[], $2::int[], $3::bigint[], $4::bigint[], $5::int[], $6::smallint[], $7::bytea[]) WITH ORDINALITY AS u(r, h, a, b, n, s, d, o)
       ORDER BY o RETURNING bid, hid`,
      [col(0), col(1), col(2), col(3), col(4), col(5), col(6)],
    );
    for (const r of rows) hostOf(hostByHid.get(r.hid) as string).bids.push(r.bid);
  }
  if (marks.length > 0) {
    const col = (j: number): unknown[] => marks.map((m) => m[j]);
    const { rows } = await c.query<{ mid: number; hid: number }>(
      `INSERT INTO marks(rid, hid, agent_id, t, kind, stage, step, rank, gauges, source, timing, category, dropped, inferred)
       SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14
       FROM unnest($1::int[], $2::int[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::bigint[], $8::int[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::text[])
         WITH ORDINALITY AS u(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, o)
       ORDER BY o RETURNING mid, hid`,
      Array.from({ length: 14 }, (_, j) => col(j)),
    );
    for (const r of rows) hostOf(hostByHid.get(r.hid) as string).mids.push(r.mid);
  }
  if (touched.size > 0) await c.query('UPDATE agents SET last_seen = $1 WHERE id = ANY($2::text[])', [now, [...touched].sort()]);
  return { res, learned, byHost };
}
