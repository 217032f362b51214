import type Database from 'better-sqlite3';
import { HostFingerprintSchema, WorkloadRuntimeSchema, type HostFingerprint, type WorkloadRuntime } from '@stagewatch/shared';

/** What each host of a run is: the agent's fingerprint (from its hello) and the workload's own report. */
export interface HostIdentity {
  host: HostFingerprint | null;
  workload: WorkloadRuntime | null;
}

/** A stored fingerprint of a run, as the store reads it back (oldest first). */
export interface FingerprintRow {
  host: string;
  kind: 'host' | 'workload';
  body: string;
}

/** An agent's last hello (JSON) for a run, as the store reads it back (least recently seen first). */
export interface HelloRow {
  host: string;
  hello: string;
}

/** Where each host's agents said SM activity comes from (hello capabilities; older agents say nothing). */
export function runSmActivity(rows: readonly HelloRow[]): Map<string, 'gpm' | 'dcgm' | 'none'> {
  const out = new Map<string, 'gpm' | 'dcgm' | 'none'>();
  for (const r of rows) {
    const said = (JSON.parse(r.hello) as { capabilities?: { smActivity?: unknown } }).capabilities?.smActivity;
    // A host's marks-only agent says nothing; a sampling agent's word wins over "none".
    if ((said === 'gpm' || said === 'dcgm') || (said === 'none' && !out.has(r.host))) out.set(r.host, said);
  }
  return out;
}

export const FINGERPRINT_SCHEMA = `
CREATE TABLE IF NOT EXISTS fingerprints(
  rid INTEGER NOT NULL, hid INTEGER NOT NULL, agent_id TEXT NOT NULL, t INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('host', 'workload')), body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fingerprints_run_host ON fingerprints(rid, hid);
`;

/** The two statements saveFingerprint uses, prepared once with the store's other writes. */
export interface FingerprintWrites {
  lastFingerprint: Database.Statement;
  insertFingerprint: Database.Statement;
}

export const FINGERPRINT_WRITE_SQL = {
  lastFingerprint: 'SELECT body FROM fingerprints WHERE rid = ? AND hid = ? AND agent_id = ? AND kind = ? ORDER BY rowid DESC LIMIT 1',
  insertFingerprint: 'INSERT INTO fingerprints(rid, hid, agent_id, t, kind, body) VALUES (?, ?, ?, ?, ?, ?)',
} as const;

/**
 * Stores a fingerprint unless the agent's latest of that kind for this run says the same (every
 * reconnect repeats the hello). Runs inside the caller's transaction.
 */
export function saveFingerprint(s: FingerprintWrites, row: { rid: number; hid: number; agentId: string; t: number; kind: 'host' | 'workload'; body: HostFingerprint | WorkloadRuntime }): void {
  const body = JSON.stringify(row.body);
  const last = s.lastFingerprint.get(row.rid, row.hid, row.agentId, row.kind) as { body: string } | undefined;
  if (last?.body === body) return;
  s.insertFingerprint.run(row.rid, row.hid, row.agentId, row.t, row.kind, body);
}

/** Per host of a run, the latest fingerprint of each kind (rows that no longer parse are skipped). */
export function runFingerprints(rows: readonly FingerprintRow[]): Map<string, HostIdentity> {
  const out = new Map<string, HostIdentity>();
  for (const r of rows) {
    const id = out.get(r.host) ?? { host: null, workload: null };
    const parsed = (r.kind === 'host' ? HostFingerprintSchema : WorkloadRuntimeSchema).safeParse(JSON.parse(r.body));
    if (parsed.success) {
      if (r.kind === 'host') id.host = parsed.data as HostFingerprint;
      else id.workload = parsed.data as WorkloadRuntime;
    }
    out.set(r.host, id);
  }
  return out;
}
