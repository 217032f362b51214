import { NotFoundError } from '@stagewatch/shared';
import { hostBuilder, type HostBuilder, type HostInput, type Report } from '../analysis/report.js';
import { SLOT_COUNT, slotOf } from '../analysis/slots.js';
import type { BreakdownInput } from '../analysis/spans-report.js';
import type { Thresholds } from '../analysis/thresholds.js';
import { runFingerprints, runSmActivity } from '../store/fingerprints.js';
import type { SqliteStore } from '../store/sqlite.js';

/**
 * One run's report straight from the store: marks, GPUs and fingerprints first (small), then every
 * sample folded into its host's builder as the row iterator reads it. Nothing holds the samples.
 * Also gives back what the per-step span breakdown reads (marks and each host's last sample time).
 */
export function reportFromStore(store: SqliteStore, runId: string, th: Thresholds): { report: Report; input: BreakdownInput } {
  const run = store.run(runId);
  if (!run) throw new NotFoundError(`no run ${JSON.stringify(runId)} in the store`);
  const gpus = store.gpus(runId);
  const marks = store.marks(runId);
  const reads = store.reportReads();
  const last = reads.lastSampleTimes(runId);
  const ids = runFingerprints(store.fingerprintRows(runId));
  const sm = runSmActivity(store.agentHellos(runId));
  const info = { id: run.id, kind: run.kind, startedAt: run.startedAt, endedAt: run.endedAt, exitCode: run.exitCode, signal: run.signal };
  const inputs = new Map<string, HostInput>();
  const hostOf = (host: string): HostInput => {
    let h = inputs.get(host);
    if (!h) {
      const gs = gpus.filter((g) => g.host === host).map(({ index, name }) => ({ index, name }));
      const smActivity = sm.get(host);
      inputs.set(host, (h = { host, gpus: gs, marks: [], fingerprint: ids.get(host) ?? { host: null, workload: null }, ...(smActivity ? { smActivity } : {}) }));
    }
    return h;
  };
  for (const host of [...run.hosts, ...last.keys()]) hostOf(host);
  for (const m of marks) (hostOf(m.host).marks as unknown[]).push(m);
  const builders = new Map<string, HostBuilder>([...inputs].map(([host, h]) => [host, hostBuilder(h, info, last.get(host) ?? null, th)]));
  let current: HostBuilder | undefined;
  let currentHost = '';
  // Block order: the aggregation wants each series in time order and stages swept nearly in order (StageSweep).
  reads.forEachSampleRow(runId, slotOf, SLOT_COUNT, (row) => {
    if (row.host !== currentHost) {
      currentHost = row.host;
      current = builders.get(row.host);
    }
    current?.add(row, row.values);
  }, undefined, 'block');
  const names = [...builders.keys()].sort((a, b) => a.localeCompare(b));
  const held = reads.resolutions(runId);
  const hosts = names.map((host) => {
    const h = (builders.get(host) as HostBuilder).finish();
    const resolution = held.get(host);
    return resolution ? { ...h, resolution } : h;
  });
  const input: BreakdownInput = { run: info, hosts: names.map((host) => ({ ...(inputs.get(host) as HostInput), lastSampleT: last.get(host) ?? null })) };
  return { report: { run: { ...info, hosts: names }, thresholds: th, hosts }, input };
}
