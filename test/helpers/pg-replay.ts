import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeRunFileHeader, type Batch, type Hello } from '@stagewatch/shared';
import { exportLines } from '../../collector/src/portable/export.js';
import { runFileEntries } from '../../collector/src/portable/read.js';
import { SqliteStore } from '../../collector/src/store/sqlite.js';

/** An agent's messages as a run file holds them: its hello, then its batches in order. */
export interface ReplayAgent {
  hello: Hello;
  batches: Batch[];
}

/**
 * The agents of a run in a captured store (store.sqlite.gz, copied into `dir`), as an export
 * writes them and an import reads them back: hellos and batches that store the run again.
 */
export function capturedAgents(fixture: string, dir: string, runId: string): ReplayAgent[] {
  writeFileSync(path.join(dir, 'stagewatch.sqlite'), gunzipSync(readFileSync(fixture)));
  const store = new SqliteStore(dir);
  let lines: string[];
  try {
    lines = [...exportLines(store, runId, 'pg-replay', Date.now())];
  } finally {
    store.close();
  }
  const header = decodeRunFileHeader(lines[0] as string, 'export: line 1');
  const text = { file: 'export', header, lines: lines.slice(1).map((l, i) => ({ no: i + 2, text: Buffer.from(l) })), cut: null };
  const agents = new Map<string, ReplayAgent>();
  for (const e of runFileEntries(text, Date.now())) {
    if ('hello' in e) {
      if (!agents.has(e.hello.agentId)) agents.set(e.hello.agentId, { hello: e.hello, batches: [] });
    } else {
      agents.get(e.of.agentId)?.batches.push(e.batch);
    }
  }
  return [...agents.values()];
}

/**
 * An agent's batches cut into batches of at most `size` samples, as an agent streaming every
 * 200 ms sends them (an export packs a run into few big ones). The first piece of each batch
 * keeps its marks, health and the rest; seqs are numbered again from 1.
 */
export function rechunk(agent: ReplayAgent, size: number): ReplayAgent {
  const out: Batch[] = [];
  for (const b of agent.batches) {
    for (let i = 0; i === 0 || i < b.samples.length; i += size) {
      const samples = b.samples.slice(i, i + size);
      out.push(i === 0 ? { ...b, seq: out.length + 1, samples } : { ...b, seq: out.length + 1, samples, marks: [], health: [], runEnd: undefined, workload: undefined });
    }
  }
  return { hello: agent.hello, batches: out };
}
