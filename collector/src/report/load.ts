import { StagewatchError } from '@stagewatch/shared';
import { hostBuilder, type HostBuilder, type HostInput, type Report } from '../analysis/report.js';
import { SLOT_COUNT, slotOf } from '../analysis/slots.js';
import type { Thresholds } from '../analysis/thresholds.js';
import { forEachSampleRow, lastSampleTimes } from '../store/report-reads.js';
import type { SqliteStore } from '../store/sqlite.js';

/**
 * One run's report straight from the store: marks and GPUs first (small), then every sample
 * folded into its host's builder as the row iterator reads it. Nothing holds the samples.
 */
export function reportFromStore(store: SqliteStore, runId: string, th: Thresholds): Report {
  const run = store.run(runId);
  if (!run) throw new StagewatchError('not-found', `no run ${JSON.stringify(runId)} in the store`);
  const gpus = store.gpus(runId);
  const marks = store.marks(runId);
  const last = lastSampleTimes(store, runId);
  const info = { id: run.id, kind: run.kind, startedAt: run.startedAt, endedAt: run.endedAt, exitCode: run.exitCode };
  const inputs = new Map<string, HostInput>();
  const hostOf = (host: string): HostInput => {
    let h = inputs.get(host);
    if (!h) inputs.set(host, (h = { host, gpus: gpus.filter((g) => g.host === host).map(({ index, name }) => ({ index, name })), marks: [] }));
    return h;
  };
  for (const host of [...run.hosts, ...last.keys()]) hostOf(host);
  for (const m of marks) (hostOf(m.host).marks as unknown[]).push(m);
  const builders = new Map<string, HostBuilder>([...inputs].map(([host, h]) => [host, hostBuilder(h, info, last.get(host) ?? null, th)]));
  let current: HostBuilder | undefined;
  let currentHost = '';
  forEachSampleRow(store, runId, slotOf, SLOT_COUNT, (row) => {
    if (row.host !== currentHost) {
      currentHost = row.host;
      current = builders.get(row.host);
    }
    current?.add(row, row.values);
  });
  const hosts = [...builders].sort(([a], [b]) => a.localeCompare(b)).map(([, b]) => b.finish());
  return { run: { ...info, hosts: [...builders.keys()].sort((a, b) => a.localeCompare(b)) }, thresholds: th, hosts };
}
