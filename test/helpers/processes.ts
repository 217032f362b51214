import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { AGENT_BIN, FAKE_SMI, ROOT } from './fixtures.js';
import { SqliteStore } from '../../collector/src/store/sqlite.js';

export const COLLECTOR_BIN = path.join(ROOT, 'collector', 'bin', 'stagewatch-collector.js');

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export interface CollectorProc {
  proc: ResultPromise;
  port: number;
  url: string;
  stderr: () => string;
}

/** The collector CLI as a real process; resolves once it listens. dataDir null: the store is in `args` (--store URL). */
export async function startCollectorProc(dataDir: string | null, port = 0, args: string[] = []): Promise<CollectorProc> {
  const proc = execa(process.execPath, [COLLECTOR_BIN, 'serve', '--port', String(port), ...(dataDir === null ? [] : ['--data', dataDir]), ...args], { reject: false });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const m = await waitFor('the collector to listen', () => /listening on (https?:\/\/127\.0\.0\.1:(\d+))/.exec(err) ?? (proc.exitCode !== null && proc.exitCode !== undefined ? (() => { throw new Error(`collector exited: ${err}`); })() : undefined));
  return { proc, port: Number(m[2]), url: m[1] as string, stderr: () => err };
}

export interface AgentProc {
  proc: ResultPromise;
  stderr: () => string;
  /** SIGTERM, then the summary the agent prints on its way out. */
  stop: () => Promise<{ samples: number; batches: number; unsent: number; lost: { batches: number; samples: number } }>;
}

/** `stagewatch-agent daemon` against the replaying fake nvidia-smi at 20x. */
export function startAgentDaemon(collectorUrl: string, spoolDir: string, args: string[] = [], env: Record<string, string> = {}): AgentProc {
  const proc = execa(
    process.execPath,
    [AGENT_BIN, 'daemon', '--collector', collectorUrl.replace(/^http/, 'ws'), '--spool-dir', spoolDir, '--interval-ms', '100', '--batch-ms', '200', '--heartbeat-ms', '500', '--backoff-max-ms', '1000', ...args],
    // The agent may spend its --drain-s after SIGTERM: no SIGKILL 5 s later (execa's default).
    { reject: false, forceKillAfterDelay: 30_000, env: { STAGEWATCH_NVIDIA_SMI: FAKE_SMI, STAGEWATCH_FAKE_SMI_SPEED: '20', ...env } },
  );
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return {
    proc,
    stderr: () => err,
    async stop() {
      proc.kill('SIGTERM');
      await proc;
      const m = /summary (\{.*\})/.exec(err);
      if (!m) throw new Error(`agent printed no summary:\n${err}`);
      return JSON.parse(m[1] as string);
    },
  };
}

/** Samples as a multiset of their content (time aside, which the collector corrects by the clock offset). */
export function contentKeys(samples: Iterable<{ source: string; gpu?: number; m: Record<string, number> }>): string[] {
  return [...samples].map((s) => JSON.stringify([s.source, s.gpu ?? null, s.m])).sort();
}

export function teeSamples(file: string): Array<{ t: number; source: string; gpu?: number; m: Record<string, number> }> {
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

export function storedSamples(dataDir: string, runId: string): ReturnType<SqliteStore['samples']> extends Generator<infer S> ? S[] : never {
  const store = new SqliteStore(dataDir);
  try {
    return [...store.samples(runId)];
  } finally {
    store.close();
  }
}
