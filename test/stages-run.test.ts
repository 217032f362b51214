import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_BIN, FAKE_SMI, ROOT } from './helpers/fixtures.js';
import { tempDir } from './helpers/agent.js';
import { COLLECTOR_BIN, startCollectorProc, type CollectorProc } from './helpers/processes.js';
import type { ReportJson } from '../collector/src/report/index.js';

type StageJson = ReportJson['hosts'][number]['stages'][number];

const running: CollectorProc[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.proc.kill('SIGKILL');
});


async function report(data: string, runId: string, extra: string[] = []): Promise<ReportJson> {
  const r = await execa(process.execPath, [COLLECTOR_BIN, 'report', runId, '--format', 'json', '--data', data, ...extra]);
  return JSON.parse(String(r.stdout)) as ReportJson;
}

const REPLAY = path.join(ROOT, 'test', 'fixtures', 'replay-workload.mjs');
const SPEED = 5;

describe('stagewatch-agent run --preset wan', () => {
  it('finds the Wan stages from the log alone, passes output and exit code through', async () => {
    const data = tempDir();
    const col = await startCollectorProc(data);
    running.push(col);
    const r = await execa(
      process.execPath,
      [AGENT_BIN, 'run', '--collector', col.url.replace('http', 'ws'), '--run-id', 'wan-log', '--preset', 'wan', '--spool-dir', tempDir(), '--', process.execPath, REPLAY],
      { reject: false, env: { SPEED: String(SPEED), EXIT_CODE: '3', STAGEWATCH_NVIDIA_SMI: '/nonexistent' }, encoding: 'buffer' },
    );
    expect(r.exitCode).toBe(3);
    const alone = await execa(process.execPath, [REPLAY], { env: { SPEED: '1000' }, encoding: 'buffer', reject: false });
    expect(Buffer.compare(r.stdout as Uint8Array, alone.stdout as Uint8Array)).toBe(0);
    const rep = await report(data, 'wan-log');
    expect(rep.run.exitCode).toBe(3);
    expect(rep.run.endedAt).not.toBeNull();
    const stages = rep.hosts[0]?.stages ?? [];
    expect(stages.map((s) => s.name)).toEqual(['init', 't5_encode', 'denoise', 'vae_decode', 'save']);
    // The log's own timestamps: init 12→39 s, T5 39→47 s, denoise 47 s → the bar's 20/20 (the replay
    // spreads the 20 bar lines evenly over 47→61 s, so 47 + 14·20/21 s), VAE from there → 66 s.
    const expected: Record<string, number> = { init: 27, t5_encode: 8, denoise: (14 * 20) / 21, vae_decode: 66 - (47 + (14 * 20) / 21) };
    for (const s of stages.filter((x) => x.name in expected)) {
      expect(Math.abs(s.duration_s - (expected[s.name] as number) / SPEED), s.name).toBeLessThan(0.25);
    }
    expect(stages.find((s) => s.name === 'denoise')?.steps?.count).toBe(20);
    const t5 = stages.find((s) => s.name === 't5_encode');
    // The replay burns one core during T5, like the captured CPU-side encoder.
    expect(t5?.proc.cpu_cores.max).toBeGreaterThan(0.7);
    expect(t5?.bottleneck).toBe('host-bound');
  });

  it('takes marks and PyTorch gauges from the Python client, and refuses a bad mark by name', async () => {
    const data = tempDir();
    const col = await startCollectorProc(data);
    running.push(col);
    const script = path.join(tempDir(), 'work.py');
    writeFileSync(
      script,
      `import json, sys, time, urllib.request, urllib.error
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'agent', 'clients', 'python'))})
import stagewatch
assert stagewatch.enabled()
with stagewatch.stage("init", gauges={"torch_reserved_mib": 1536}):
    time.sleep(0.3)
with stagewatch.stage("denoise", gauges={"torch_reserved_mib": 2082}):
    for i in range(3):
        with stagewatch.stage("denoise_step", step=i):
            time.sleep(0.1)
req = urllib.request.Request(__import__("os").environ["STAGEWATCH_MARKS_URL"], data=b'{"kind":"begin","stage":"ok"}\\n{"kind":"middle","stage":"x"}', method="POST")
try:
    urllib.request.urlopen(req)
except urllib.error.HTTPError as e:
    print("refused", e.code, e.read().decode())
`,
    );
    const r = await execa(process.execPath, [AGENT_BIN, 'run', '--collector', col.url, '--run-id', 'py-marks', '--spool-dir', tempDir(), '--', 'python3', script], {
      reject: false,
      env: { STAGEWATCH_NVIDIA_SMI: '/nonexistent' },
    });
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toMatch(/refused 400 \{"error":"line 2: kind: Invalid option: expected one of \\"begin\\"\|\\"end\\""\}/);
    expect(String(r.stderr)).toMatch(/marks endpoint: line 2: kind/);
    const stages = (await report(data, 'py-marks')).hosts[0]?.stages ?? [];
    expect(stages.map((s) => s.name)).toEqual(['init', 'denoise']);
    expect(stages[0]?.duration_s).toBeGreaterThan(0.25);
    expect(stages[1]?.steps?.count).toBe(3);
    expect(stages[1]?.workload?.torch_reserved_mib.max).toBe(2082);
    // The refused request left nothing behind: no stage "ok".
    expect(stages.some((s) => s.name === 'ok')).toBe(false);
  });
});

describe('the H100 capture replayed through agent and collector', () => {
  it('gives the real stage durations and bottlenecks, for two hosts, and compares them', async () => {
    const data = tempDir();
    const col = await startCollectorProc(data);
    running.push(col);
    const ws = col.url.replace('http', 'ws');
    const daemon = (host: string) =>
      execa(process.execPath, [AGENT_BIN, 'daemon', '--collector', ws, '--run-id', `replay-${host}`, '--host', host, '--interval-ms', '100', '--spool-dir', tempDir()], {
        reject: false,
        forceKillAfterDelay: 30_000,
        env: { STAGEWATCH_NVIDIA_SMI: FAKE_SMI },
      });
    const agents = [daemon('host-a'), daemon('host-b')];
    // The capture's vae_decode ends 62.6 s after its first stream row; the fake plays it at real pace.
    await new Promise((r) => setTimeout(r, 66_000));
    for (const a of agents) a.kill('SIGTERM');
    await Promise.all(agents);
    const streamT0 = Date.parse('2026-11-22T14:47:03.686Z');
    for (const host of ['host-a', 'host-b']) {
      const pre = await report(data, `replay-${host}`);
      expect(pre.hosts[0]?.stages).toEqual([]);
      // Line the capture's marks up with the replay: its first stream row is the first GPU sample.
      const store = await import('../collector/src/store/sqlite.js');
      const s = new store.SqliteStore(data);
      const first = [...s.samples(`replay-${host}`)].find((x) => x.source === 'gpu' && 'util_pct' in x.m);
      s.close();
      const shift = Math.round((first?.t as number) - streamT0);
      const imp = await execa(process.execPath, [AGENT_BIN, 'marks', '--collector', ws, '--run-id', `replay-${host}`, '--host', host, '--shift-ms', String(shift), path.join(ROOT, 'test/fixtures/h100-staged/marks.jsonl')]);
      expect(String(imp.stderr)).toMatch(/imported 50 marks into run replay-/);
    }
    const rep = await report(data, 'replay-host-a', ['--vs', 'replay-host-b']);
    const stages = rep.hosts[0]?.stages ?? [];
    const by = (n: string) => stages.find((s) => s.name === n) as StageJson;
    expect(stages.map((s) => s.name)).toEqual(['request', 'init', 't5_encode', 'denoise', 'vae_decode']);
    expect(by('init').duration_s).toBeCloseTo(26.386, 2);
    expect(by('t5_encode').duration_s).toBeCloseTo(8.969, 2);
    expect(by('denoise').duration_s).toBeCloseTo(13.154, 2);
    expect(by('vae_decode').duration_s).toBeCloseTo(5.119, 2);
    expect(by('denoise').bottleneck).toBe('compute');
    expect(by('denoise').gpus[0]?.sm_active_pct?.mean).toBeGreaterThan(80);
    expect(by('t5_encode').bottleneck).not.toBe('compute');
    expect(by('denoise').workload?.torch_reserved_mib.max).toBe(2082);
    expect(rep.compare?.find((c) => c.stage === 't5_encode')?.text).toMatch(/^T5 encoding: 9\.0 s vs 9\.0 s, 1\.0x, /);
    // The API gives the same JSON as the CLI.
    const api = await (await fetch(`${col.url}/api/runs/replay-host-a/report?vs=replay-host-b`)).json();
    expect(api).toEqual(rep);
    const md = await execa(process.execPath, [COLLECTOR_BIN, 'report', 'replay-host-a', '--vs', 'replay-host-b', '--data', data]);
    expect(String(md.stdout)).toMatch(/\| stage \| duration s \|/);
    expect(String(md.stdout)).toMatch(/## Compared with run replay-host-b/);
  }, 180_000);
});
