#!/usr/bin/env node
// Writes a real data directory with the collector and agent of this checkout, and what that code
// says about it: the fixture test/upgrade.test.ts opens with newer code (issue #15 item 5).
//   npm run build && node scripts/make-datadir-fixture.mjs test/fixtures/datadir-v0
// Two runs go in, each through a real agent into a real collector process:
// - `h100-phases`: the H100 capture test/fixtures/h100-phases-gpm1s (samples and phase marks as
//   the agent streamed them) fed through the agent's own Link (spool, client, hello with the
//   capture host's fingerprint), a batch per 500 ms of capture time, as the daemon batches;
// - `py-spans`: `stagewatch-agent run` over the NVML stand-in (test/nvml-standin/) with a Python
//   workload that marks stages, steps, spans and gauges through the Python client.
// OUT gets datadir.tar.gz (the data directory after the collector stopped), report-<run>.json and
// .md (`stagewatch-collector report`), series-<run>.json and runs.json (the HTTP API) and
// README.md naming the commit that wrote them.
// test/fixtures/datadir-v0 was written by commit cb0e7bf, the last collector before the store had
// a schema version (PRAGMA user_version 0): run this at a later commit to make datadir-v<N>.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'test/fixtures/datadir-v0'));
const { Link } = await import(path.join(root, 'agent/dist/streaming.js'));
const { parseMarksFile } = await import(path.join(root, 'agent/dist/stages/marks-file.js'));
const COLLECTOR = path.join(root, 'collector/bin/stagewatch-collector.js');
const AGENT = path.join(root, 'agent/bin/stagewatch-agent.js');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-datadir-fixture-'));
const data = path.join(tmp, 'data');
mkdirSync(data);
const log = (m) => process.stderr.write(`make-datadir-fixture: ${m}\n`);

const col = spawn(process.execPath, [COLLECTOR, 'serve', '--port', '0', '--data', data], { stdio: ['ignore', 'ignore', 'pipe'] });
let err = '';
const url = await new Promise((resolve, reject) => {
  col.stderr.on('data', (d) => {
    err += d;
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
    if (m) resolve(m[1]);
  });
  col.on('exit', () => reject(new Error(err)));
});
const ws = url.replace('http', 'ws');
// A failure below must not leave the collector running.
process.on('exit', () => col.exitCode === null && col.kill('SIGKILL'));

// Run 1: the H100 capture through the agent's Link.
const cap = path.join(root, 'test/fixtures/h100-phases-gpm1s');
const samples = gunzipSync(readFileSync(path.join(cap, 'samples.jsonl.gz'))).toString('utf8').trim().split('\n').map((l) => ({ ...JSON.parse(l), host: 'h100-vm' }));
const marks = parseMarksFile(readFileSync(path.join(cap, 'marks.jsonl'), 'utf8'), 'file', 'marks.jsonl');
const fp = JSON.parse(readFileSync(path.join(root, 'test/fixtures/fingerprints/h100-staged.json'), 'utf8')).fingerprint;
const link = new Link({ collector: ws, runId: 'h100-phases', host: 'h100-vm', batchMs: 60_000, spoolDir: path.join(tmp, 'spool-h100'), spoolMaxBytes: 64 << 20, labels: { capture: 'h100-phases-gpm1s' }, log });
let batchEnd = samples[0].t + 500;
let mi = 0;
for (const s of samples) {
  if (s.t >= batchEnd) {
    while (mi < marks.length && marks[mi].t < batchEnd) link.streamer.addMarks([marks[mi++]]);
    link.streamer.flush();
    batchEnd += 500 * Math.ceil((s.t - batchEnd + 1) / 500);
  }
  link.streamer.add(s);
}
link.streamer.addMarks(marks.slice(mi));
link.streamer.endRun(samples.at(-1).t + 100, 0);
link.streamer.flush();
// The fingerprint has no uuid; the H100 capture's nvidia-smi -L has one.
const uuid = /UUID: (GPU-[0-9a-f-]+)/.exec(readFileSync(path.join(root, 'test/fixtures/h100-staged/list.txt'), 'utf8'))[1];
link.connect([{ index: 0, uuid, name: fp.gpus[0].name, memTotalMib: 81559 }], { gpm: true, fields: [], smActivity: 'gpm' }, fp);
const sent = await link.close(60_000);
if (sent.unsent > 0) throw new Error(`${sent.unsent} batches of h100-phases not acknowledged`);

// Run 2: the agent's run command over the NVML stand-in, with a Python workload using the client.
const lib = path.join(tmp, 'libnvidia-ml.so.1');
execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', lib, path.join(root, 'test/nvml-standin/libnvidia-ml.c')]);
const py = path.join(tmp, 'work.py');
writeFileSync(
  py,
  `import sys, time
sys.path.insert(0, ${JSON.stringify(path.join(root, 'agent/clients/python'))})
import stagewatch
with stagewatch.stage("init", gauges={"torch_reserved_mib": 1536}):
    time.sleep(0.6)
with stagewatch.stage("denoise", gauges={"torch_reserved_mib": 2082}):
    for i in range(4):
        with stagewatch.stage("denoise_step", step=i):
            with stagewatch.span("attention", category="compute"):
                time.sleep(0.15)
            with stagewatch.span("all_to_all", category="communication"):
                time.sleep(0.05)
with stagewatch.stage("save"):
    time.sleep(0.3)
stagewatch.flush()
`,
);
execFileSync(process.execPath, [AGENT, 'run', '--collector', ws, '--run-id', 'py-spans', '--host', 'standin', '--label', 'config=fixture', '--spool-dir', path.join(tmp, 'spool-py'), '--', 'python3', py], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, STAGEWATCH_NVML_LIB: lib, STAGEWATCH_NVIDIA_SMI: '/nonexistent' },
});

// What the HTTP API says while the collector still runs.
mkdirSync(out, { recursive: true });
const get = async (p) => {
  const r = await fetch(`${url}${p}`);
  if (!r.ok) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
  return r.text();
};
const runs = JSON.parse(await get('/api/runs'));
writeFileSync(path.join(out, 'runs.json'), `${JSON.stringify(runs, null, 1)}\n`);
for (const r of runs) {
  const series = Object.fromEntries(await Promise.all(r.hosts.map(async (h) => [h, JSON.parse(await get(`/api/runs/${r.id}/series?host=${encodeURIComponent(h)}`))])));
  writeFileSync(path.join(out, `series-${r.id}.json`), `${JSON.stringify(series)}\n`);
}
col.kill('SIGTERM');
await new Promise((r) => col.on('exit', r));

// The reports, as the CLI prints them from the stopped collector's data directory.
for (const r of runs) {
  for (const format of ['json', 'md']) {
    writeFileSync(path.join(out, `report-${r.id}.${format}`), execFileSync(process.execPath, [COLLECTOR, 'report', r.id, '--format', format, '--data', data], { encoding: 'utf8' }));
  }
}
execFileSync('tar', ['-czf', path.join(out, 'datadir.tar.gz'), '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', data, '.']);
const db = new Database(path.join(data, 'stagewatch.sqlite'), { readonly: true });
const userVersion = db.pragma('user_version', { simple: true });
db.close();
const commit = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'agent', 'collector', 'shared'], { encoding: 'utf8' }).trim() !== '';
writeFileSync(
  path.join(out, 'README.md'),
  `# ${path.basename(out)}

A data directory written by the collector and agent of commit \`${commit}\`${dirty ? ' (with uncommitted changes to agent/, collector/ or shared/)' : ''}, and what that code
said about it (the store's PRAGMA user_version: ${userVersion}); made by \`node scripts/make-datadir-fixture.mjs ${path.relative(root, out)}\` (read it for what goes in).
\`test/upgrade.test.ts\` opens a copy with today's code and expects the same answers.

- \`datadir.tar.gz\`: the data directory after the collector stopped (\`tar -xzf\` into an empty directory).
- \`runs.json\`: \`GET /api/runs\`.
- \`report-<run>.json\`, \`report-<run>.md\`: \`stagewatch-collector report <run> --format json|md --data DIR\`.
- \`series-<run>.json\`: \`GET /api/runs/<run>/series?host=<host>\` for each host of the run, by host.
`,
);
rmSync(tmp, { recursive: true, force: true });
log(`wrote ${out} (${samples.length} capture samples, ${runs.length} runs)`);
