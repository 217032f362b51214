import type { Hello } from '@stagewatch/shared';
import type { SinkSource } from '../sinks/types.js';
import type { AgentRegistration, HostSeen, PendingBatch, RunSummary, StoredMark, StoredSample, WriteResult } from './rows.js';
import type { SqliteStore } from './sqlite.js';

/** What a live view starts from: a host's recent samples and marks in the run it streams to now. */
export interface RecentData {
  runId: string | null;
  samples: StoredSample[];
  marks: StoredMark[];
}

/** Samples and marks another collector stored (PostgreSQL): times on the collectors' clock. */
export interface StoredElsewhere {
  host: string;
  runId: string;
  samples: StoredSample[];
  marks: StoredMark[];
}

/**
 * The store as the server uses it, whichever engine holds the data: the embedded SQLite file
 * (the default) or a PostgreSQL database several collectors share. Asynchronous because a
 * database server answers over a socket. The analysis stays synchronous and pure: it reads a
 * SqliteStore that `readRuns` hands it (the SQLite store itself, or the runs copied out of
 * PostgreSQL into an in-memory one), so report, series, compare and export run the same code on
 * either engine.
 */
export interface StoreEngine {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data is, for the log and messages (a file, or a URL without its password). */
  readonly where: string;
  /** How many writeBatches may run at once (the ingest's group commits). */
  readonly parallelCommits: number;
  registerAgent(hello: Hello, now: number, agentKey: string | null): Promise<AgentRegistration>;
  /** One transaction; per item, whether that (agent, seq) was already stored (by any collector). */
  writeBatches(items: readonly PendingBatch[], now: number): Promise<WriteResult>;
  listRuns(): Promise<RunSummary[]>;
  run(runId: string): Promise<RunSummary | null>;
  hosts(): Promise<HostSeen[]>;
  recent(host: string, since: number): Promise<RecentData>;
  /**
   * GPU uuid and name by `host\u0000index` for /metrics labels: of every GPU the store knows
   * (SQLite) or at least of every agent that said hello to this collector (PostgreSQL), which are
   * the only ones whose samples this collector labels.
   */
  gpuTags(): Map<string, { uuid: string; name: string }>;
  /** Runs fn on a synchronous store that holds at least the named runs (an unknown run is simply absent). */
  readRuns<T>(runIds: readonly string[], fn: (store: SqliteStore) => T): Promise<T>;
  /**
   * Tells `deliver` what other collectors store for hosts that `wanted` names (the live view of
   * an agent that streams to another collector). The SQLite engine has no other writers: never.
   */
  watchElsewhere(wanted: (host: string) => boolean, deliver: (s: StoredElsewhere) => void): void;
  /** What sinks read (rows past their cursors), or null where the engine has none. */
  sinkSource(): SinkSource | null;
  close(): Promise<void>;
}

/** The embedded SQLite store behind the engine interface: every call is the synchronous store's. */
export class SqliteEngine implements StoreEngine {
  readonly kind = 'sqlite';
  readonly where: string;
  /** One: a SQLite write is synchronous and the file has one writer. */
  readonly parallelCommits = 1;

  constructor(private readonly store: SqliteStore) {
    this.where = store.file;
  }

  registerAgent(hello: Hello, now: number, agentKey: string | null): Promise<AgentRegistration> {
    return attempt(() => this.store.registerAgent(hello, now, agentKey));
  }

  writeBatches(items: readonly PendingBatch[], now: number): Promise<WriteResult> {
    return attempt(() => this.store.writeBatches(items, now));
  }

  listRuns(): Promise<RunSummary[]> {
    return attempt(() => this.store.listRuns());
  }

  run(runId: string): Promise<RunSummary | null> {
    return attempt(() => this.store.run(runId));
  }

  hosts(): Promise<HostSeen[]> {
    return attempt(() => this.store.hosts());
  }

  recent(host: string, since: number): Promise<RecentData> {
    return attempt(() => this.store.recent(host, since));
  }

  gpuTags(): Map<string, { uuid: string; name: string }> {
    return this.store.gpuTags();
  }

  readRuns<T>(_runIds: readonly string[], fn: (store: SqliteStore) => T): Promise<T> {
    return attempt(() => fn(this.store));
  }

  watchElsewhere(): void {
    // One collector per data directory (data-lock.ts): nothing is stored elsewhere.
  }

  sinkSource(): SinkSource {
    return this.store.sinkSource();
  }

  close(): Promise<void> {
    return attempt(() => this.store.close());
  }
}

/** fn's result, or its throw, as a promise. */
function attempt<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e as Error);
  }
}
