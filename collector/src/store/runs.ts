import type Database from 'better-sqlite3';
import type { RunSummary } from './rows.js';

const SQL = (one: boolean): string =>
  `SELECT r.id, r.kind, coalesce(r.data_start, r.started_at) AS started_at, r.ended_at, r.exit_code, r.signal, r.labels,
          group_concat(h.name, char(10)) AS hosts
   FROM runs r LEFT JOIN run_hosts rh ON rh.rid = r.rid LEFT JOIN hosts h ON h.hid = rh.hid
   ${one ? 'WHERE r.id = ?' : ''} GROUP BY r.rid ORDER BY 3 DESC`;

/** Every run, or the one named, newest first; `stmt` gives the store's reused prepared reads. */
export function runSummaries(stmt: (sql: string) => Database.Statement, runId: string | null): RunSummary[] {
  return (stmt(SQL(runId !== null)).all(...(runId === null ? [] : [runId])) as RunRow[]).map(summaryOf);
}

/** A run as the summary query reads it (this one, or the PostgreSQL engine's of the same columns). */
export interface RunRow {
  id: string;
  kind: 'run' | 'timeline';
  started_at: number;
  ended_at: number | null;
  exit_code: number | null;
  signal: string | null;
  labels: string | null;
  /** Host names joined by newlines. */
  hosts: string | null;
}

export function summaryOf(r: RunRow): RunSummary {
  return {
    id: r.id,
    kind: r.kind,
    hosts: r.hosts ? r.hosts.split('\n').sort() : [],
    startedAt: r.started_at,
    endedAt: r.ended_at,
    exitCode: r.exit_code,
    signal: r.signal,
    labels: r.labels ? (JSON.parse(r.labels) as Record<string, string>) : {},
  };
}
