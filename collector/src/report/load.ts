import { StagewatchError } from '@stagewatch/shared';
import type { ReportInput } from '../analysis/report.js';
import { runFingerprints, runSmActivity } from '../store/fingerprints.js';
import type { SqliteStore } from '../store/sqlite.js';

/** Everything the report needs for one run, read from the store. */
export function loadReportInput(store: SqliteStore, runId: string): ReportInput {
  const run = store.run(runId);
  if (!run) throw new StagewatchError('not-found', `no run ${JSON.stringify(runId)} in the store`);
  const gpus = store.gpus(runId);
  const marks = store.marks(runId);
  const ids = runFingerprints(store.fingerprintRows(runId));
  const sm = runSmActivity(store.agentHellos(runId));
  const byHost = new Map<string, ReportInput['hosts'][number]>();
  const hostOf = (host: string): ReportInput['hosts'][number] => {
    let h = byHost.get(host);
    if (!h) {
      const gs = gpus.filter((g) => g.host === host).map(({ index, name }) => ({ index, name }));
      const smActivity = sm.get(host);
      byHost.set(host, (h = { host, gpus: gs, samples: [], marks: [], fingerprint: ids.get(host) ?? { host: null, workload: null }, ...(smActivity ? { smActivity } : {}) }));
    }
    return h;
  };
  for (const host of run.hosts) hostOf(host);
  for (const s of store.samples(runId)) (hostOf(s.host).samples as unknown[]).push(s);
  for (const m of marks) (hostOf(m.host).marks as unknown[]).push(m);
  return {
    run: { id: run.id, kind: run.kind, startedAt: run.startedAt, endedAt: run.endedAt, exitCode: run.exitCode, signal: run.signal },
    hosts: [...byHost.values()].sort((a, b) => a.host.localeCompare(b.host)),
  };
}
