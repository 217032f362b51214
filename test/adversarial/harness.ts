import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type Sample } from '@stagewatch/shared';
import { CollectorClient } from '../../agent/src/transport/client.js';
import { Spool } from '../../agent/src/transport/spool.js';
import { Batcher } from '../../agent/src/pipeline/batcher.js';
import { SqliteStore } from '../../collector/src/store/sqlite.js';
import { tempDir } from '../helpers/agent.js';
import { ROOT } from '../helpers/fixtures.js';
import { COLLECTOR_BIN, waitFor } from '../helpers/processes.js';

export const TOKEN = 'adversarial-token-0123456789';
export const auth = { authorization: `Bearer ${TOKEN}` };

const FIGURES = path.join(ROOT, 'test-output', 'reliability-figures.jsonl');

/** A measured figure of the suite: printed, and appended to test-output/ for docs/RELIABILITY.md. */
export function figure(name: string, value: number | string): void {
  mkdirSync(path.dirname(FIGURES), { recursive: true });
  appendFileSync(FIGURES, `${JSON.stringify({ name, value, at: new Date().toISOString() })}\n`);
  console.log(`figure: ${name} = ${value}`);
}

export interface GoodAgent {
  agentId: string;
  produced(): number;
  /** Batches it spooled so far: seqs 1..batches(), its spool never having restarted. */
  batches(): number;
  /** Stops sampling, drains, stops; what it produced, in order. */
  stop(drainMs?: number): Promise<{ drained: boolean; samples: Sample[] }>;
}

/**
 * A well-behaved agent in this process: the real spool, client and batcher. Each sample carries
 * a counter (power_w), so the samples stored can be checked one for one against those produced.
 */
export function goodAgent(url: string, id: string, runId: string, opts: { hz?: number; batchMs?: number; token?: string | null } = {}): GoodAgent {
  const spool = Spool.open(tempDir(), 64 << 20, () => {}, id);
  const token = opts.token === undefined ? TOKEN : opts.token;
  const client = new CollectorClient({
    url,
    ...(token ? { token } : {}),
    hello: () => ({ type: 'hello', protocol: PROTOCOL_VERSION, agentId: spool.agentId, host: id, runId, gpus: [{ index: 0, uuid: 'GPU-0', name: 'NVIDIA H100 80GB HBM3', memTotalMib: 81559 }], capabilities: { gpm: false, fields: [] }, agentVersion: 'test' }),
    spool,
    log: () => {},
    heartbeatMs: 1000,
    backoff: { initialMs: 50, maxMs: 500 },
  });
  const streamer = new Batcher(spool, client, { runId, batchMs: opts.batchMs ?? 100, host: id });
  const samples: Sample[] = [];
  const timer = setInterval(() => {
    const s: Sample = { t: Date.now(), host: id, source: 'gpu', gpu: 0, m: { util_pct: samples.length % 101, power_w: samples.length } };
    samples.push(s);
    streamer.add(s);
  }, 1000 / (opts.hz ?? 20));
  client.start();
  return {
    agentId: spool.agentId,
    produced: () => samples.length,
    batches: () => streamer.batches,
    async stop(drainMs = 20_000) {
      clearInterval(timer);
      streamer.shutdown();
      const drained = await client.forceFlush(drainMs);
      await client.shutdown();
      return { drained, samples };
    },
  };
}

/** The counters (power_w) of a run's stored samples of one host, sorted: each must appear once. */
export function storedCounters(samples: Iterable<Sample>, host: string): number[] {
  return [...samples].filter((s) => s.host === host).map((s) => s.m.power_w as number).sort((a, b) => a - b);
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export interface CollectorProcess {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  proc: ResultPromise;
  stderr(): string;
  /** Resident and peak resident memory of the process, MiB (from /proc/PID/status). */
  memory(): { rssMiB: number; peakMiB: number };
  stop(): Promise<void>;
}

/** `stagewatch-collector serve` as its own process, so SIGKILL and its memory are real. */
export async function collectorProcess(dataDir: string, args: string[] = [], port = 0): Promise<CollectorProcess> {
  const proc = execa(process.execPath, [COLLECTOR_BIN, 'serve', '--port', String(port), '--data', dataDir, '--token', TOKEN, ...args], { reject: false });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const m = await waitFor('the collector to listen', () => {
    if (proc.exitCode !== null && proc.exitCode !== undefined) throw new Error(`collector exited: ${err}`);
    return /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(err) ?? undefined;
  });
  const pid = proc.pid as number;
  return {
    url: m[1] as string,
    port: Number(m[2]),
    pid,
    dataDir,
    proc,
    stderr: () => err,
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
      return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024) };
    },
    async stop() {
      proc.kill('SIGTERM');
      await proc;
    },
  };
}

/** Reads a stopped collector's store. */
export function withStore<T>(dataDir: string, read: (s: SqliteStore) => T): T {
  const store = new SqliteStore(dataDir);
  try {
    return read(store);
  } finally {
    store.close();
  }
}

export interface Session {
  code: number;
  reason: string;
  messages: Array<{ type: string; seqs?: number[]; storedThrough?: number }>;
  status?: number;
}

/** A raw WebSocket client: sends the frames in order, collects replies, resolves on close. */
export function session(
  url: string,
  frames: Array<string | Buffer>,
  opts: { headers?: Record<string, string>; lingerMs?: number; path?: string; closeWhen?: (m: Session['messages']) => boolean } = {},
): Promise<Session> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${opts.path ?? '/agent'}`, { headers: opts.headers ?? auth, maxPayload: 64 << 20 });
    const messages: Session['messages'] = [];
    ws.on('unexpected-response', (_req, res) => resolve({ code: -1, reason: '', messages, status: res.statusCode ?? 0 }));
    ws.on('error', () => {});
    ws.on('message', (d) => {
      messages.push(JSON.parse(String(d)));
      if (opts.closeWhen?.(messages)) ws.close(1000);
    });
    ws.on('open', () => {
      for (const f of frames) ws.send(f, { binary: Buffer.isBuffer(f) });
      setTimeout(() => ws.close(1000), opts.lingerMs ?? 300).unref();
    });
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), messages }));
  });
}

export const helloFrame = (agentId: string, host: string, runId: string | null, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agentId, host, runId, gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 'test', ...extra });

export const batchFrame = (seq: number, runId: string | null, samples: unknown[], extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: 'batch', seq, runId, samples, health: [], marks: [], clock: null, loss: { batches: 0, samples: 0 }, ...extra });

/** p50 and p99 of a list of durations. */
export function percentiles(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { p50: Math.round(at(0.5) * 10) / 10, p99: Math.round(at(0.99) * 10) / 10, max: Math.round((s.at(-1) as number) * 10) / 10 };
}
