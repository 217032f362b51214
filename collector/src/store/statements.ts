import type Database from 'better-sqlite3';
import { FINGERPRINT_WRITE_SQL } from './fingerprints.js';

/** The write path's SQL, prepared once when the store opens (prepareWrites). */
const SQL = {
  insertHost: 'INSERT INTO hosts(name) VALUES (?) ON CONFLICT(name) DO UPDATE SET name = name RETURNING hid',
  insertRun: 'INSERT INTO runs(id, kind, started_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET id = id RETURNING rid',
  insertRunHost: 'INSERT OR IGNORE INTO run_hosts(rid, hid) VALUES (?, ?)',
  upsertAgent: `INSERT INTO agents(id, hid, rid, first_seen, last_seen, hello, key_hash) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET hid = excluded.hid, rid = excluded.rid, last_seen = excluded.last_seen, hello = excluded.hello,
       key_hash = coalesce(agents.key_hash, excluded.key_hash)`,
  agentBinding: 'SELECT key_hash AS keyHash, stored_through AS storedThrough FROM agents WHERE id = ?',
  setStoredThrough: 'UPDATE agents SET stored_through = ? WHERE id = ?',
  upsertGpu: `INSERT INTO gpus(hid, idx, uuid, name, mem_total_mib) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(hid, idx) DO UPDATE SET uuid = excluded.uuid, name = excluded.name, mem_total_mib = excluded.mem_total_mib`,
  seqsAfter: 'SELECT seq FROM batches WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT 256',
  insertBatch: 'INSERT OR IGNORE INTO batches(agent_id, seq, samples, stored_at) VALUES (?, ?, ?, ?)',
  insertBlock: 'INSERT INTO blocks(rid, hid, t0, t1, s0, n, source, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  insertHealth: 'INSERT INTO health(agent_id, t, sampler, state, error, body) VALUES (?, ?, ?, ?, ?, ?)',
  upsertLoss: `INSERT INTO loss(agent_id, batches, samples, corrupt, rejected, quarantined_samples, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(agent_id) DO UPDATE SET batches = max(batches, excluded.batches), samples = max(samples, excluded.samples),
       corrupt = max(corrupt, excluded.corrupt), rejected = max(rejected, excluded.rejected),
       quarantined_samples = max(quarantined_samples, excluded.quarantined_samples), updated_at = excluded.updated_at`,
  insertMark:
    'INSERT INTO marks(rid, hid, agent_id, t, kind, stage, step, rank, gauges, source, timing, category, dropped, inferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  setLabels: 'UPDATE runs SET labels = ? WHERE rid = ?',
  insertClock: 'INSERT INTO clock(agent_id, t, offset_ms, error_ms) VALUES (?, ?, ?, ?)',
  insertMetric: 'INSERT INTO metric_names(name) VALUES (?) RETURNING id',
  touchAgent: 'UPDATE agents SET last_seen = ? WHERE id = ?',
  endRunByRid: "UPDATE runs SET ended_at = ?, exit_code = ?, signal = ? WHERE rid = ? AND kind = 'run'",
  dataStart: 'UPDATE runs SET data_start = min(coalesce(data_start, @t), @t) WHERE rid = @rid',
  ...FINGERPRINT_WRITE_SQL,
} as const;

export type WriteStatements = { readonly [K in keyof typeof SQL]: Database.Statement };

export function prepareWrites(db: Database.Database): WriteStatements {
  return Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as unknown as WriteStatements;
}
