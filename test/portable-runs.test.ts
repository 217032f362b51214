import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { AGENT_BIN, FAKE_SMI, ROOT } from './helpers/fixtures.js';
import { COLLECTOR_BIN, startCollectorProc, type CollectorProc } from './helpers/processes.js';
import { useScratch } from './helpers/scratch.js';
import { storeContent, storeContentCanonical } from './helpers/portable.js';
import type { ReportJson } from '../collector/src/report/index.js';
type StageJson = ReportJson['hosts'][number]['stages'][number];

const tempDir = useScratch();
const REPLAY = path.join(ROOT, 'test', 'fixtures', 'replay-workload.mjs');
const RUN = 'portable-a';

/**
 * The workload: says what it is (the fingerprint endpoint), wraps the replayed Wan log (stages
 * from the wan preset) in a `request` stage posted with a PyTorch gauge, and exits 3.
 */
function workloadScript(): string {
  const file = path.join(tempDir(), 'work.mjs');
  writeFileSync(
    file,
    `import { spawn } from 'node:child_process';
const post = (url, body) => fetch(url, { method: 'POST', body });
await post(process.env.STAGEWATCH_FINGERPRINT_URL, JSON.stringify({ python: '3.11.4', torch: '2.4.0', torch_threads: 8 }));
await post(process.env.STAGEWATCH_MARKS_URL, JSON.stringify({ kind: 'begin', stage: 'request', gauges: { torch_reserved_mib: 1536 } }));
const child = spawn(process.execPath, [${JSON.stringify(REPLAY)}], { stdio: 'inherit' });
const code = await new Promise((r) => child.on('exit', r));
await post(process.env.STAGEWATCH_MARKS_URL, JSON.stringify({ kind: 'end', stage: 'request', gauges: { torch_reserved_mib: 2082 } }));
process.exit(code);
`,
  );
  return file;
}

const agentRun = (args: string[]) =>
  execa(process.execPath, [AGENT_BIN, 'run', '--run-id', RUN, '--preset', 'wan', '--label', 'config=portable', '--interval-ms', '100', '--batch-ms', '200', '--spool-dir', tempDir(), ...args, '--', process.execPath, workloadScript()], {
    reject: false,
    env: { SPEED: '10', EXIT_CODE: '3', STAGEWATCH_NVIDIA_SMI: FAKE_SMI, STAGEWATCH_FAKE_SMI_SPEED: '20' },
  });

const collector = (args: string[]) => execa(process.execPath, [COLLECTOR_BIN, ...args], { reject: false });

async function reportJson(data: string, runId = RUN): Promise<Record<string, unknown>> {
  const r = await collector(['report', runId, '--format', 'json', '--data', data]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return JSON.parse(String(r.stdout)) as Record<string, unknown>;
}

const stagesOf = (rep: Record<string, unknown>): StageJson[] => ((rep.hosts as Array<{ stages: StageJson[] }>)[0]?.stages ?? []);

let col: CollectorProc | null = null;
afterAll(() => col?.proc.kill('SIGKILL'));

/** One agent run that streams to a collector and writes --out: the same batches reach both. */
const streamed = { data: '', file: '' };
beforeAll(async () => {
  streamed.data = tempDir();
  streamed.file = path.join(tempDir(), 'a.swrun.gz');
  col = await startCollectorProc(streamed.data);
  const r = await agentRun(['--collector', col.url.replace('http', 'ws'), '--out', streamed.file]);
  expect(r.exitCode, String(r.stderr)).toBe(3);
  expect(String(r.stderr)).toMatch(/streaming to ws:\/\/.* and .*a\.swrun\.gz/);
  // A collector serving the directory holds parts of the store in memory: import waits for it to go.
  const busy = await collector(['import', streamed.file, '--data', streamed.data]);
  expect(busy.exitCode).toBe(1);
  expect(String(busy.stderr)).toMatch(/is in use by another collector \(pid \d+/);
  col.proc.kill('SIGTERM');
  await col.proc;
  col = null;
}, 120_000);

describe('a run streamed and written with --out in the same agent run', () => {
  it('imported into an empty data directory, stores the same and reports the same', async () => {
    const data = tempDir();
    const imp = await collector(['import', streamed.file, '--data', data]);
    expect(imp.exitCode, String(imp.stderr)).toBe(0);
    expect(String(imp.stderr)).toMatch(new RegExp(`run ${RUN} \\(\\S+\\): stored \\d+ batches, \\d+ samples, \\d+ marks in `));
    const source = storeContent(streamed.data, RUN);
    expect(source.samples.length).toBeGreaterThan(100);
    expect(source.samples.some((s) => s.source === 'gpu')).toBe(true);
    expect(source.fingerprints.map((f) => f.kind).sort()).toEqual(['host', 'workload']);
    expect(source.run?.labels).toEqual({ config: 'portable' });
    expect(source.run?.exitCode).toBe(3);
    expect(storeContent(data, RUN)).toEqual(source);
    const report = await reportJson(streamed.data);
    expect(stagesOf(report).map((s) => s.name)).toEqual(expect.arrayContaining(['request', 'init', 't5_encode', 'denoise', 'vae_decode']));
    expect(await reportJson(data)).toEqual(report);
  });

  it('imported where it was streamed to, stores nothing new and says so', async () => {
    const before = storeContent(streamed.data, RUN);
    const imp = await collector(['import', streamed.file, '--data', streamed.data]);
    expect(imp.exitCode, String(imp.stderr)).toBe(0);
    expect(String(imp.stderr)).toMatch(/a\.swrun\.gz: nothing new: all \d+ batches are in .*stagewatch\.sqlite already/);
    expect(storeContent(streamed.data, RUN)).toEqual(before);
  });
});

describe('export RUN, then import', () => {
  it('into an empty data directory reproduces the run: store contents and report equal, a second import stores nothing', async () => {
    const file = path.join(tempDir(), 'exported.swrun.gz');
    const exp = await collector(['export', RUN, '--data', streamed.data, '--out', file]);
    expect(exp.exitCode, String(exp.stderr)).toBe(0);
    expect((await collector(['export', RUN, '--data', streamed.data, '--out', file])).stderr).toMatch(/--out .*exported\.swrun\.gz: exists already/);
    const data = tempDir();
    expect((await collector(['import', file, '--data', data])).exitCode).toBe(0);
    expect(storeContentCanonical(data, RUN)).toEqual(storeContentCanonical(streamed.data, RUN));
    expect(await reportJson(data)).toEqual(await reportJson(streamed.data));
    const again = await collector(['import', file, '--data', data]);
    expect(String(again.stderr)).toMatch(/nothing new: all \d+ batches are in/);
    // Its agents are named anew, so into the store it came from it would double the run: refused.
    const back = await collector(['import', file, '--data', streamed.data]);
    expect(back.exitCode).toBe(1);
    expect(String(back.stderr)).toMatch(/run portable-a is in .* already; this export of it would store its data a second time/);
  });
});

describe('the offline flow: run --out with no collector, imported later', () => {
  it('reports the same stages as the streamed run, within the run-to-run jitter', async () => {
    const file = path.join(tempDir(), 'offline.swrun.gz');
    const r = await agentRun(['--out', file]);
    expect(r.exitCode, String(r.stderr)).toBe(3);
    expect(String(r.stderr)).toMatch(/no collector: import it with stagewatch-collector import/);
    const data = tempDir();
    expect((await collector(['import', file, '--data', data])).exitCode).toBe(0);
    const offline = await reportJson(data);
    const online = await reportJson(streamed.data);
    const a = stagesOf(offline);
    const b = stagesOf(online);
    // Structure exactly. Two runs of the replay are two runs: each line comes when the replay's
    // timer fires, so each boundary may sit a scheduling delay late (stages-run.test.ts allows
    // 0.25 s against the log's own times; two such runs, twice that at most).
    expect(a.map((s) => [s.name, s.depth, s.steps?.count ?? null])).toEqual(b.map((s) => [s.name, s.depth, s.steps?.count ?? null]));
    a.forEach((s, i) => expect(Math.abs(s.duration_s - (b[i] as StageJson).duration_s), s.name).toBeLessThan(0.5));
    const [x, y] = [storeContent(data, RUN), storeContent(streamed.data, RUN)];
    expect(x.run?.exitCode).toBe(3);
    expect(x.run?.labels).toEqual(y.run?.labels);
    expect(x.fingerprints.map((f) => [f.kind, JSON.parse(f.body).cpu ?? JSON.parse(f.body)])).toEqual(y.fingerprints.map((f) => [f.kind, JSON.parse(f.body).cpu ?? JSON.parse(f.body)]));
    expect(x.gpus).toEqual(y.gpus);
  });
});

describe('sample --out', () => {
  it('records a run of its own that import stores, ended when sampling ended', async () => {
    const file = path.join(tempDir(), 's.swrun.gz');
    const r = await execa(process.execPath, [AGENT_BIN, 'sample', '--duration-s', '1.5', '--interval-ms', '100', '--host', 'rec-host', '--run-id', 'sampled', '--out', file], {
      reject: false,
      env: { STAGEWATCH_NVIDIA_SMI: FAKE_SMI, STAGEWATCH_FAKE_SMI_SPEED: '20' },
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toBe('');
    const written = /run sampled: (\d+) samples in (\d+) batches written to/.exec(String(r.stderr));
    expect(written, String(r.stderr)).not.toBeNull();
    const data = tempDir();
    const imp = await collector(['import', file, '--data', data]);
    expect(String(imp.stderr)).toContain(`run sampled (rec-host): stored ${written?.[2]} batches, ${written?.[1]} samples, 0 marks`);
    const c = storeContent(data, 'sampled');
    expect(c.samples.length).toBe(Number(written?.[1]));
    expect(c.samples.some((s) => s.source === 'gpu' && s.host === 'rec-host')).toBe(true);
    expect(c.run?.endedAt).toBeGreaterThan(c.run?.startedAt as number);
    expect((await execa(process.execPath, [AGENT_BIN, 'sample', '--duration-s', '1', '--run-id', 'x'], { reject: false })).stderr).toMatch(/--run-id names the run in an --out file/);
  });
});

describe('files that are not right', () => {
  it('a file cut short is refused, nothing stored; --partial keeps its whole lines and names the batches kept', async () => {
    const bytes = readFileSync(streamed.file);
    const cut = path.join(tempDir(), 'cut.swrun.gz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const data = tempDir();
    const refused = await collector(['import', cut, '--data', data]);
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stderr)).toMatch(/cut\.swrun\.gz: cut short after line \d+ \(gzip data ends early: unexpected end of file\); nothing imported/);
    expect(storeContent(data, RUN).run).toBeNull();
    const kept = await collector(['import', cut, '--data', data, '--partial']);
    expect(kept.exitCode, String(kept.stderr)).toBe(0);
    const m = /kept lines 1-(\d+), batches 1-(\d+) of agent (\S+) \(host \S+\); dropped the \d+ bytes of line (\d+), cut through/.exec(String(kept.stderr));
    expect(m, String(kept.stderr)).not.toBeNull();
    const [lastLine, lastSeq, agent, cutLine] = [Number(m?.[1]), Number(m?.[2]), m?.[3] as string, Number(m?.[4])];
    expect(cutLine).toBe(lastLine + 1);
    const store = new SqliteStore(data);
    try {
      // Exactly the batches named: seqs 1..lastSeq (line 1 is the header, line 2 the hello).
      expect(store.storedBatches(agent).map((b) => b.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
      expect(lastSeq).toBe(lastLine - 2);
    } finally {
      store.close();
    }
  });

  it('a line failing the schema, or a version this reader does not know, is named and nothing is stored', async () => {
    const { gunzipSync, gzipSync } = await import('node:zlib');
    const lines = gunzipSync(readFileSync(streamed.file)).toString('utf8').split('\n');
    const bad = (edit: (ls: string[]) => void): string => {
      const ls = [...lines];
      edit(ls);
      const f = path.join(tempDir(), 'bad.swrun.gz');
      writeFileSync(f, gzipSync(ls.join('\n')));
      return f;
    };
    const data = tempDir();
    // A batch some lines in, after good ones, with at least 4 samples.
    const i = lines.findIndex((l, n) => n > 3 && l.includes('"type":"batch"') && (JSON.parse(l) as { samples: unknown[] }).samples.length > 3);
    const wrongT = bad((ls) => {
      const b = JSON.parse(ls[i] as string);
      b.samples[3].t = 'soon';
      ls[i] = JSON.stringify(b);
    });
    const r1 = await collector(['import', wrongT, '--data', data]);
    expect(r1.exitCode).toBe(1);
    expect(String(r1.stderr)).toContain(`bad.swrun.gz: line ${i + 1}: batch: samples[3].t: Invalid input: expected number, received string`);
    // The lines before it were good, but the file is one transaction.
    expect(storeContent(data, RUN).run).toBeNull();
    const v2 = bad((ls) => (ls[0] = (ls[0] as string).replace('"version":1', '"version":2')));
    expect(String((await collector(['import', v2, '--data', data])).stderr)).toMatch(/line 1: version 2 is not supported \(this reader knows version 1/);
    const orphan = bad((ls) => ls.splice(1, 1));
    expect(String((await collector(['import', orphan, '--data', data])).stderr)).toMatch(/line 2: a batch before any hello/);
    const plain = path.join(tempDir(), 'plain.jsonl');
    writeFileSync(plain, lines.join('\n'));
    expect(String((await collector(['import', plain, '--data', data])).stderr)).toMatch(/plain\.jsonl: not a gzip file/);
    expect(storeContent(data, RUN).run).toBeNull();
    const none = await collector(['import', '--data', data]);
    expect(none.exitCode).toBe(2);
  });

  it('the agent never overwrites a recording: an existing --out file is a usage error naming the flag', async () => {
    const r = await agentRun(['--out', streamed.file]);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toMatch(/--out .*a\.swrun\.gz: exists already/);
  });
});
