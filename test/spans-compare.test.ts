import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkloadMarkSchema } from '../shared/src/index.js';
import { parseMarksFile } from '../agent/src/stages/marks-file.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { AGENT_BIN, FIXTURES, H100, ROOT } from './helpers/fixtures.js';
import { COLLECTOR_BIN, startCollectorProc, type CollectorProc } from './helpers/processes.js';
import type { ReportJson } from '../collector/src/report/index.js';

const dirs: string[] = [];
const procs: CollectorProc[] = [];
const temp = (): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-spans-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const p of procs.splice(0)) p.proc.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const WORKLOAD = `import os, sys, time
sys.path.insert(0, sys.argv[1])
import stagewatch
step_s = float(os.environ["STEP_S"])
with stagewatch.stage("request"):
    with stagewatch.stage("denoise"):
        for i in range(6):
            with stagewatch.stage("denoise_step", step=i):
                with stagewatch.span("attn", category="compute"):
                    time.sleep(step_s)
                with stagewatch.span("qkv_all_to_all", category="communication"):
                    time.sleep(0.004)
`;


describe('spans through agent and collector, and compare over labelled runs', () => {
  it('summarises spans per step, keeps them out of the stage list, and compares configurations the same in CLI and API', async () => {
    const data = temp();
    const col = await startCollectorProc(data);
    procs.push(col);
    const script = path.join(temp(), 'work.py');
    writeFileSync(script, WORKLOAD);
    const client = path.join(ROOT, 'agent', 'clients', 'python');
    const run = async (id: string, label: string, stepS: number, py = [script, client]): Promise<void> => {
      const r = await execa(process.execPath, [AGENT_BIN, 'run', '--collector', col.url.replace('http', 'ws'), '--run-id', id, '--label', label, '--label', 'model=t2v', '--spool-dir', temp(), '--', 'python3', ...py], {
        reject: false,
        env: { STAGEWATCH_NVIDIA_SMI: '/nonexistent', STEP_S: String(stepS) },
      });
      expect(r.exitCode, String(r.stderr)).toBe(0);
    };
    await run('base-1', 'config=base', 0.01);
    await run('base-2', 'config=base', 0.01);
    await run('gate-1', 'config=gate', 0.03);

    const rep = JSON.parse(String((await execa(process.execPath, [COLLECTOR_BIN, 'report', 'base-1', '--format', 'json', '--data', data])).stdout)) as ReportJson;
    const host = rep.hosts[0];
    expect(host?.stages.map((s) => s.name)).toEqual(['request', 'denoise']);
    expect(host?.stages[1]?.steps?.count).toBe(6);
    expect(host?.breakdown?.steps).toBe(6);
    expect(host?.breakdown?.spans.map((s) => [s.name, s.timing, s.count_per_step]).sort()).toEqual([['attn', 'host', 1], ['qkv_all_to_all', 'host', 1]]);
    expect(rep.headline.step_stage).toBe('denoise_step');
    // No torch here: steps and spans are both on the host clock, so shares are given.
    expect(rep.headline.step_clock).toBe('host');
    expect(rep.headline.spans.attn).toBeGreaterThanOrEqual(10);

    const runs = (await (await fetch(`${col.url}/api/runs`)).json()) as Array<{ id: string; labels: Record<string, string> }>;
    expect(runs.find((r) => r.id === 'gate-1')?.labels).toEqual({ config: 'gate', model: 't2v' });

    const cli = JSON.parse(String((await execa(process.execPath, [COLLECTOR_BIN, 'compare', '--baseline', 'base-1', 'base-2', 'gate-1', '--format', 'json', '--data', data])).stdout));
    const api = await (await fetch(`${col.url}/api/compare?baseline=base-1&runs=base-2,gate-1`)).json();
    expect(api).toEqual(cli);
    expect(cli.rows.map((r: { config: string; runs: string[] }) => [r.config, r.runs])).toEqual([
      ['config=base,model=t2v', ['base-1', 'base-2']],
      ['config=gate,model=t2v', ['gate-1']],
    ]);
    expect(cli.metrics).toEqual(['request_total_ms', 'step_mean_ms', 'comm_total_ms', 'exposed_comm_ms', 'reserved_peak_mib', 'span:attn', 'span:qkv_all_to_all']);
    // One run on one side: judged from per-step values, and it says so.
    expect(cli.rows[1].change['span:attn'].basis).toBe('steps');
    expect(cli.rows[1].change.request_total_ms).toMatchObject({ basis: null, verdict: 'no estimate' });

    const md = String((await execa(process.execPath, [COLLECTOR_BIN, 'compare', '--baseline', 'base-1', 'gate-1', '--metrics', 'step_mean_ms,span:attn', '--data', data])).stdout);
    expect(md).toMatch(/\| config \| runs \| step mean ms \(host\) \| attn ms\/step \(host\) \|/);
    expect(md).toMatch(/## Change against the baseline/);
    const csv = String((await execa(process.execPath, [COLLECTOR_BIN, 'compare', '--baseline', 'base-1', 'gate-1', '--format', 'csv', '--metrics', 'span:attn', '--data', data])).stdout).split('\n');
    expect(csv[0]).toBe('config,runs,span:attn,span:attn_sd,span:attn_n,span:attn_pct,span:attn_ci_lo_pct,span:attn_ci_hi_pct,span:attn_verdict,span:attn_basis,span:attn_clock');
    expect(csv[1]).toMatch(/^"config=base,model=t2v",base-1,[\d.]+,,1,,,,baseline,,host$/);
    const bad = await execa(process.execPath, [COLLECTOR_BIN, 'compare', '--baseline', 'base-1', 'gate-1', '--metrics', 'nope', '--data', data], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toMatch(/unknown metric "nope"; these runs have request_total_ms, .*span:attn/);
    const apiBad = await fetch(`${col.url}/api/compare?baseline=base-1&runs=gate-1&metrics=nope`);
    expect(apiBad.status).toBe(400);

    // The client released before spans still posts marks the agent takes.
    const old = path.join(temp(), 'old.py');
    writeFileSync(old, `import sys\nsys.path.insert(0, ${JSON.stringify(path.join(FIXTURES, 'python-client-v0'))})\nimport stagewatch\nwith stagewatch.stage("init", gauges={"x": 1}):\n    pass\nfor i in range(2):\n    with stagewatch.stage("denoise_step", step=i):\n        pass\n`);
    await run('old-client', 'config=old', 0, [old]);
    const oldRep = JSON.parse(String((await execa(process.execPath, [COLLECTOR_BIN, 'report', 'old-client', '--format', 'json', '--data', data])).stdout)) as ReportJson;
    expect(oldRep.hosts[0]?.stages.map((s) => s.name)).toEqual(['init', 'denoise_step', 'denoise_step']);
    expect(oldRep.hosts[0]?.breakdown?.spans).toEqual([]);
    expect(oldRep.hosts[0]?.breakdown?.steps).toBe(0);
  }, 120_000);
});

describe('backward compatibility', () => {
  it('takes the marks.jsonl form and the lines the old client sent', () => {
    const marks = parseMarksFile(readFileSync(path.join(H100, 'marks.jsonl'), 'utf8'), 'file', 'marks.jsonl');
    expect(marks).toHaveLength(50);
    expect(marks.every((m) => m.timing === undefined)).toBe(true);
    // The shapes the pre-span client posted: kind, stage, t, step, rank, gauges.
    for (const line of ['{"kind": "begin", "stage": "init", "t": 1795358832427.7322}', '{"kind": "end", "stage": "denoise_step", "t": 1795358832427.7322, "step": 3, "rank": 1, "gauges": {"torch_reserved_mib": 1536.0}}']) {
      expect(WorkloadMarkSchema.safeParse(JSON.parse(line)).success).toBe(true);
    }
    expect(WorkloadMarkSchema.safeParse({ kind: 'begin', stage: 'x', timing: 'gpu' }).success).toBe(false);
  });

  it('opens a store made before spans and labels, keeping its marks and runs', () => {
    const dir = temp();
    const db = new Database(path.join(dir, 'stagewatch.sqlite'));
    db.exec(`CREATE TABLE runs(rid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('run', 'timeline')), started_at INTEGER NOT NULL, ended_at INTEGER, exit_code INTEGER);
CREATE TABLE hosts(hid INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE run_hosts(rid INTEGER NOT NULL, hid INTEGER NOT NULL, PRIMARY KEY (rid, hid)) WITHOUT ROWID;
CREATE TABLE marks(rid INTEGER NOT NULL, hid INTEGER NOT NULL, agent_id TEXT NOT NULL, t REAL NOT NULL, kind TEXT NOT NULL, stage TEXT NOT NULL, step INTEGER, rank INTEGER, gauges TEXT, source TEXT NOT NULL);
INSERT INTO runs VALUES (1, 'old', 'run', 1000, 2000, 0); INSERT INTO hosts VALUES (1, 'h'); INSERT INTO run_hosts VALUES (1, 1);
INSERT INTO marks VALUES (1, 1, 'a', 1500.5, 'begin', 'init', NULL, 0, '{"torch_reserved_mib":5}', 'http');`);
    db.close();
    const store = new SqliteStore(dir);
    try {
      expect(store.run('old')).toMatchObject({ id: 'old', labels: {} });
      expect(store.marks('old')).toEqual([{ host: 'h', t: 1500.5, kind: 'begin', stage: 'init', rank: 0, gauges: { torch_reserved_mib: 5 }, source: 'http' }]);
    } finally {
      store.close();
    }
  });
});
