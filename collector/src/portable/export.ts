import { createHash } from 'node:crypto';
import {
  encodeRunFileHeader,
  HelloSchema,
  HostFingerprintSchema,
  NotFoundError,
  PROTOCOL_VERSION,
  RUN_FILE_FORMAT,
  RUN_FILE_VERSION,
  WorkloadRuntimeSchema,
  type BatchInput,
  type GpuInfo,
  type Hello,
  type HostFingerprint,
} from '@stagewatch/shared';
import type { FingerprintRow, HelloRow } from '../store/fingerprints.js';
import type { RunSummary, SqliteStore } from '../store/sqlite.js';

/** Samples or marks per exported batch: well under the wire limit, and a line stays a few MB. */
const CHUNK = 5000;
const NO_LOSS = { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 };

/**
 * The agent id an export gives one host of a run. The store does not keep which batch a sample
 * came in, so an export cannot replay the agents' own (agent, seq)s; it numbers its batches anew
 * under this id instead. Derived from run and host, so every export of a run names them alike and
 * importing two exports of it stores it once.
 */
export function exportAgentId(runId: string, host: string): string {
  return `export-${createHash('sha256').update(`${runId}\u0000${host}`).digest('hex').slice(0, 24)}`;
}

/** The stored hello the report would take this host's SM-activity source from (runSmActivity's rule). */
function baseHello(rows: readonly HelloRow[]): Hello | null {
  const hellos = rows.flatMap((r) => {
    const p = HelloSchema.safeParse(JSON.parse(r.hello));
    return p.success ? [p.data] : [];
  });
  const said = (h: Hello): string | undefined => h.capabilities.smActivity;
  return hellos.filter((h) => said(h) === 'gpm' || said(h) === 'dcgm').at(-1) ?? hellos.find((h) => said(h) === 'none') ?? hellos.at(-1) ?? null;
}

function parsedBodies<T>(rows: readonly FingerprintRow[], host: string, kind: FingerprintRow['kind'], schema: { safeParse(v: unknown): { success: boolean; data?: T } }): T[] {
  return rows.filter((r) => r.host === host && r.kind === kind).flatMap((r) => {
    const p = schema.safeParse(JSON.parse(r.body));
    return p.success ? [p.data as T] : [];
  });
}

/**
 * A stored run as the lines of a run file: header; per host a hello (one more per later host
 * fingerprint), its samples and marks in stored order, the workload's own reports; the run's end
 * last. Times are the store's, on the collector's clock already, so batches carry no clock.
 */
export function* exportLines(store: SqliteStore, runId: string, writer: string, now: number): Generator<string> {
  const run = store.run(runId);
  if (!run) throw new NotFoundError(`no run ${JSON.stringify(runId)} in the store ${store.file}`);
  yield encodeRunFileHeader({ format: RUN_FILE_FORMAT, version: RUN_FILE_VERSION, origin: 'export', writer, createdAt: now, runId: run.id });
  const hellos = store.agentHellos(run.id);
  const fingerprints = store.fingerprintRows(run.id);
  const gpus = store.gpus(run.id);
  const marks = store.marks(run.id);
  const wireRunId = run.kind === 'run' ? run.id : null;
  const hosts = [...run.hosts].sort();
  for (const host of hosts) {
    const agentId = exportAgentId(run.id, host);
    const ownHellos = hellos.filter((h) => h.host === host);
    const base = baseHello(ownHellos);
    const hello = (fingerprint?: HostFingerprint): Hello => ({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      agentId,
      host,
      runId: wireRunId,
      gpus: gpuInfo(gpus.filter((g) => g.host === host), ownHellos),
      capabilities: base?.capabilities ?? { gpm: false, fields: [] },
      agentVersion: base?.agentVersion ?? 'unknown',
      ...(Object.keys(run.labels).length > 0 ? { labels: run.labels } : {}),
      ...(fingerprint ? { fingerprint } : {}),
    });
    const hostPrints = parsedBodies<HostFingerprint>(fingerprints, host, 'host', HostFingerprintSchema);
    for (const fp of hostPrints.length > 0 ? hostPrints : [undefined]) yield JSON.stringify(hello(fp));
    let seq = 0;
    const batch = (part: Partial<BatchInput>): string =>
      JSON.stringify({ clock: null, type: 'batch', seq: ++seq, runId: wireRunId, samples: [], health: [], marks: [], loss: NO_LOSS, ...part });
    let chunk: unknown[] = [];
    for (const s of store.samples(run.id, host)) {
      chunk.push(s);
      if (chunk.length === CHUNK) {
        yield batch({ samples: chunk as BatchInput['samples'] });
        chunk = [];
      }
    }
    if (chunk.length > 0) yield batch({ samples: chunk as BatchInput['samples'] });
    const own = marks.filter((m) => m.host === host).map(({ host: _host, ...m }) => m);
    for (let i = 0; i < own.length; i += CHUNK) yield batch({ marks: own.slice(i, i + CHUNK) });
    for (const w of parsedBodies(fingerprints, host, 'workload', WorkloadRuntimeSchema)) yield batch({ workload: w });
    if (host === hosts.at(-1)) {
      const end = runEnd(run);
      if (end) yield batch({ runEnd: end });
    }
  }
}

/** The run's end as the agent said it (kept on the run only: a timeline never ends). */
function runEnd(run: RunSummary): BatchInput['runEnd'] | null {
  if (run.kind !== 'run' || run.endedAt === null) return null;
  return { t: run.endedAt, exitCode: run.exitCode, ...(run.signal ? { signal: run.signal } : {}) };
}

/** The host's GPUs as the report reads them, with uuid and memory from a hello that announced them. */
function gpuInfo(gpus: ReadonlyArray<{ index: number; name: string }>, hellos: readonly HelloRow[]): GpuInfo[] {
  const announced = new Map<number, GpuInfo>();
  for (const r of hellos) for (const g of (JSON.parse(r.hello) as { gpus?: GpuInfo[] }).gpus ?? []) announced.set(g.index, g);
  return gpus.map((g) => ({ index: g.index, name: g.name, uuid: announced.get(g.index)?.uuid ?? '', memTotalMib: announced.get(g.index)?.memTotalMib ?? null }));
}
