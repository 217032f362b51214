import type Database from 'better-sqlite3';
import type { FingerprintRow, HelloRow } from './fingerprints.js';
import { markFromRow, type HostSeen, type MarkRow, type StoredMark } from './rows.js';

/**
 * The embedded store's reads of what is not samples: marks, GPUs, hosts, fingerprints, hellos,
 * and each agent's delivery records. `stmt` gives the store's reused prepared statements.
 */
type Stmt = (sql: string) => Database.Statement;

export interface AgentLoss {
  batches: number;
  samples: number;
  corrupt: number;
  rejected: number;
  quarantinedSamples: number;
}

/** A run's marks in time order, times on the collector's clock. */
export function marksOf(stmt: Stmt, runId: string): StoredMark[] {
  const rows = stmt(
    `SELECT h.name AS host, m.t, m.kind, m.stage, m.step, m.rank, m.gauges, m.source, m.timing, m.category, m.dropped, m.inferred FROM marks m
     JOIN runs r ON r.rid = m.rid JOIN hosts h ON h.hid = m.hid WHERE r.id = ? ORDER BY m.t, m.rowid`,
  ).all(runId) as Array<MarkRow & { host: string }>;
  return rows.map(markFromRow);
}

/** GPU index → name per host, as the agents announced them. */
export function gpusOf(stmt: Stmt, runId: string): Array<{ host: string; index: number; name: string }> {
  return stmt(
    `SELECT h.name AS host, g.idx AS "index", g.name FROM gpus g JOIN hosts h ON h.hid = g.hid
     JOIN run_hosts rh ON rh.hid = g.hid JOIN runs r ON r.rid = rh.rid WHERE r.id = ? ORDER BY h.name, g.idx`,
  ).all(runId) as Array<{ host: string; index: number; name: string }>;
}

/** Hosts with the run each streams to now and when it was last heard from. */
export function hostsSeen(stmt: Stmt): HostSeen[] {
  const rows = stmt(
    `SELECT h.name AS host, r.id AS runId, max(a.last_seen) AS lastSeen FROM agents a JOIN hosts h ON h.hid = a.hid
     JOIN runs r ON r.rid = a.rid GROUP BY h.hid ORDER BY h.name`,
  ).all() as Array<{ host: string; runId: string; lastSeen: number }>;
  const gpus = stmt('SELECT h.name AS host, g.idx AS "index", g.name FROM gpus g JOIN hosts h ON h.hid = g.hid ORDER BY g.idx').all() as Array<{ host: string; index: number; name: string }>;
  return rows.map((r) => ({ ...r, gpus: gpus.filter((g) => g.host === r.host).map(({ index, name }) => ({ index, name })) }));
}

/** A run's stored fingerprints, oldest first (fingerprints.ts reads them). */
export function fingerprintRowsOf(stmt: Stmt, runId: string): FingerprintRow[] {
  return stmt('SELECT h.name AS host, f.kind, f.body FROM fingerprints f JOIN runs r ON r.rid = f.rid JOIN hosts h ON h.hid = f.hid WHERE r.id = ? ORDER BY f.rowid').all(runId) as FingerprintRow[];
}

/** The last hello of each agent of a run, least recently seen first. */
export function agentHellosOf(stmt: Stmt, runId: string): HelloRow[] {
  return stmt('SELECT h.name AS host, a.hello FROM agents a JOIN runs r ON r.rid = a.rid JOIN hosts h ON h.hid = a.hid WHERE r.id = ? ORDER BY a.last_seen').all(runId) as HelloRow[];
}

/** What an agent last said it lost: dropped from a full spool, or quarantined. */
export function agentLossOf(stmt: Stmt, agentId: string): AgentLoss | null {
  const r = stmt('SELECT batches, samples, corrupt, rejected, quarantined_samples AS quarantinedSamples FROM loss WHERE agent_id = ?')
    .get(agentId) as AgentLoss | undefined;
  return r ?? null;
}

/** Clock estimates an agent's batches carried, oldest first. */
export function agentClockOf(stmt: Stmt, agentId: string): Array<{ offsetMs: number; errorMs: number }> {
  return stmt('SELECT offset_ms AS offsetMs, error_ms AS errorMs FROM clock WHERE agent_id = ? ORDER BY t').all(agentId) as Array<{ offsetMs: number; errorMs: number }>;
}

/** The seqs stored for an agent, with each batch's sample count: to check delivery after the fact. */
export function storedBatchesOf(stmt: Stmt, agentId: string): Array<{ seq: number; samples: number }> {
  return stmt('SELECT seq, samples FROM batches WHERE agent_id = ? ORDER BY seq').all(agentId) as Array<{ seq: number; samples: number }>;
}
