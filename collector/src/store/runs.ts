import type Database from 'better-sqlite3';

export interface RunSummary {
  id: string;
  kind: 'run' | 'timeline';
  hosts: string[];
  /** The run's first sample or mark (collector clock); before any data, when it was registered. */
  startedAt: number;
  endedAt: number | null;
  /** The workload's exit code; 128+N when signal N ended it (130 for SIGINT, 143 for SIGTERM). */
  exitCode: number | null;
  /** The signal that interrupted the workload (`SIGINT`, `SIGTERM`, ...), or null. */
  signal: string | null;
  /** `run --label key=value` ({} where none were given). */
  labels: Record<string, string>;
}

/** Every run, or the one named, newest first. */
export function runSummaries(db: Database.Database, runId: string | null): RunSummary[] {
  const rows = db
    .prepare(
      `SELECT r.id, r.kind, coalesce(r.data_start, r.started_at) AS started_at, r.ended_at, r.exit_code, r.signal, r.labels,
              group_concat(h.name, char(10)) AS hosts
       FROM runs r LEFT JOIN run_hosts rh ON rh.rid = r.rid LEFT JOIN hosts h ON h.hid = rh.hid
       ${runId === null ? '' : 'WHERE r.id = ?'} GROUP BY r.rid ORDER BY 3 DESC`,
    )
    .all(...(runId === null ? [] : [runId])) as Array<{
    id: string;
    kind: 'run' | 'timeline';
    started_at: number;
    ended_at: number | null;
    exit_code: number | null;
    signal: string | null;
    labels: string | null;
    hosts: string | null;
  }>;
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    hosts: r.hosts ? r.hosts.split('\n').sort() : [],
    startedAt: r.started_at,
    endedAt: r.ended_at,
    exitCode: r.exit_code,
    signal: r.signal,
    labels: r.labels ? (JSON.parse(r.labels) as Record<string, string>) : {},
  }));
}
