#!/usr/bin/env node
// On a GPU machine: checks every NVML call the agent makes beyond the basics, with a CUDA load
// running (torch_load.py), and prints one JSON object (also written to $OUT/nvml-check.json):
//  - raw: each new call's return code, decoded values and CPU cost per call, through koffi with
//    the layouts the agent uses (nvml.h): nvmlDeviceGetSamples, field values (NVLink speed and
//    throughput, PCIe byte counters), NVLink state/version, running processes, per-process
//    utilization, PCIe throughput; GPM gets per metric, per set and all together (what the
//    agent's GPM pacing calibrates from).
//  - agent: `agent.mjs sample` against the load, summarised: what each kind of sample covers
//    (dur_ms), GPM windows, capacities, per-process samples of the load (gpu_index, memory,
//    utilization, busiest thread, RANK) and the agent's own log lines.
//  - probe: `agent.mjs probe --json`.
//   node nvml-check.mjs AGENT.mjs [PYTHON_LOAD.py]      (koffi is taken from beside AGENT.mjs)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [agent, loadPy = path.join(path.dirname(new URL(import.meta.url).pathname), 'torch_load.py')] = process.argv.slice(2);
if (!agent) throw new Error('usage: node nvml-check.mjs AGENT.mjs [torch_load.py]');
const koffi = createRequire(path.resolve(agent))('koffi');
const lib = koffi.load('libnvidia-ml.so.1');
const dev = koffi.pointer('nvmlDevice_t', koffi.opaque('nvmlDevice_st'));
const smp = koffi.pointer('nvmlGpmSample_t', koffi.opaque('nvmlGpmSample_st'));
koffi.struct('U', { gpu: 'uint', memory: 'uint' });
const metric = koffi.struct('GM', { metricId: 'uint', nvmlReturn: 'int', value: 'double', a: 'void *', b: 'void *', c: 'void *' });
koffi.struct('GMG', { version: 'uint', numMetrics: 'uint', s1: smp, s2: smp, metrics: koffi.array(metric, 16) });
const f = (d) => lib.func(d);
const nvml = {
  init: f('int nvmlInit_v2()'),
  errorString: f('const char *nvmlErrorString(int)'),
  count: f('int nvmlDeviceGetCount_v2(_Out_ unsigned int *)'),
  handle: f('int nvmlDeviceGetHandleByIndex_v2(unsigned int, _Out_ nvmlDevice_t *)'),
  util: f('int nvmlDeviceGetUtilizationRates(nvmlDevice_t, _Out_ U *)'),
  samples: f('int nvmlDeviceGetSamples(nvmlDevice_t, int, unsigned long long, _Out_ int *, _Inout_ unsigned int *, void *)'),
  fields: f('int nvmlDeviceGetFieldValues(nvmlDevice_t, int, void *)'),
  nvlState: f('int nvmlDeviceGetNvLinkState(nvmlDevice_t, unsigned int, _Out_ int *)'),
  nvlVersion: f('int nvmlDeviceGetNvLinkVersion(nvmlDevice_t, unsigned int, _Out_ unsigned int *)'),
  procs: f('int nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t, _Inout_ unsigned int *, void *)'),
  procUtil: f('int nvmlDeviceGetProcessUtilization(nvmlDevice_t, void *, _Inout_ unsigned int *, unsigned long long)'),
  pcieTp: f('int nvmlDeviceGetPcieThroughput(nvmlDevice_t, int, _Out_ unsigned int *)'),
  pcieGen: f('int nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_t, _Out_ unsigned int *)'),
  pcieWidth: f('int nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_t, _Out_ unsigned int *)'),
  pcieMaxGen: f('int nvmlDeviceGetMaxPcieLinkGeneration(nvmlDevice_t, _Out_ unsigned int *)'),
  gpmAlloc: f('int nvmlGpmSampleAlloc(_Out_ nvmlGpmSample_t *)'),
  gpmGet: f('int nvmlGpmSampleGet(nvmlDevice_t, nvmlGpmSample_t)'),
  gpmMetrics: f('int nvmlGpmMetricsGet(_Inout_ GMG *)'),
};
nvml.init();
const err = (rc) => (rc === 0 ? 'ok' : `${rc} ${nvml.errorString(rc)}`);
/** CPU µs and wall µs per call, over n calls. */
const cost = (fn, n) => {
  fn();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  const c = process.cpuUsage(c0);
  return { cpuUs: Math.round(((c.user + c.system) / n) * 10) / 10, wallUs: Math.round(((performance.now() - w0) * 1000 / n) * 10) / 10 };
};
const value = (b, o, type) => [b.readDoubleLE(o), b.readUInt32LE(o), Number(b.readBigUInt64LE(o)), Number(b.readBigUInt64LE(o)), Number(b.readBigInt64LE(o)), b.readInt32LE(o), b.readUInt16LE(o)][type] ?? null;
function fieldValues(h, reqs) {
  const b = Buffer.alloc(reqs.length * 40);
  reqs.forEach(([id, scope = 0], i) => { b.writeUInt32LE(id, i * 40); b.writeUInt32LE(scope, i * 40 + 4); });
  const rc = nvml.fields(h, reqs.length, b);
  return { rc: err(rc), values: reqs.map(([id, scope = 0], i) => { const ret = b.readInt32LE(i * 40 + 28); const type = b.readInt32LE(i * 40 + 24); return { id, scope, ret: err(ret), type, value: ret === 0 ? value(b, i * 40 + 32, type) : null, tsUs: Number(b.readBigInt64LE(i * 40 + 8)) }; }) };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The load: its pid is the first line it prints.
const load = spawn('python3', [loadPy, '40'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RANK: '0', LOCAL_RANK: '0' } });
const loadPid = await new Promise((resolve) => load.stdout.once('data', (d) => resolve(Number(String(d).split('\n')[0]))));
await sleep(5000); // CUDA context up, matmuls running

const out = { loadPid, now: Date.now(), gpus: [] };
const count = [0];
nvml.count(count);
for (let i = 0; i < count[0]; i++) {
  const hh = [null];
  nvml.handle(i, hh);
  const h = hh[0];
  const g = { index: i };
  // Utilization with NVML's sample times, next to nvmlDeviceGetUtilizationRates.
  const sbuf = Buffer.alloc(128 * 16);
  const vt = [0];
  const sc = [128];
  g.samples = { rc: err(nvml.samples(h, 1, 0, vt, sc, sbuf)), valueType: vt[0], count: sc[0] };
  const ts = Array.from({ length: sc[0] }, (_, k) => Number(sbuf.readBigUInt64LE(k * 16)));
  const vals = Array.from({ length: sc[0] }, (_, k) => value(sbuf, k * 16 + 8, vt[0]));
  const gaps = ts.slice(1).map((t, k) => (t - ts[k]) / 1000).sort((a, b) => a - b);
  const u = {};
  nvml.util(h, u);
  Object.assign(g.samples, { lastTsMinusNowMs: ts.length ? Math.round(ts.at(-1) / 1000 - Date.now()) : null, periodMs: gaps.length ? { min: gaps[0], median: gaps[gaps.length >> 1], max: gaps.at(-1) } : null, lastValues: vals.slice(-8), utilizationRates: u, cost: cost(() => nvml.samples(h, 1, ts.at(-1) ?? 0, [0], [128], sbuf), 500) });
  // NVLink: state and version per link; speed and throughput fields.
  g.nvlink = { links: [] };
  for (let l = 0; l < 18; l++) {
    const s = [0];
    const v = [0];
    const rc = nvml.nvlState(h, l, s);
    g.nvlink.links.push({ link: l, rc: err(rc), active: rc === 0 ? s[0] : null, version: rc === 0 && s[0] === 1 && nvml.nvlVersion(h, l, v) === 0 ? v[0] : null });
    if (rc !== 0 && l > 0) break;
  }
  g.nvlink.stateCost = cost(() => nvml.nvlState(h, 0, [0]), 500);
  g.fields = fieldValues(h, [[90], [91], [84], [138, 0xffffffff], [139, 0xffffffff], [138, 0], [197], [198], [202, 0xffffffff], [204, 0xffffffff], [164, 0]]);
  g.fields.cost4 = cost(() => fieldValues(h, [[197], [198], [138, 0xffffffff], [139, 0xffffffff]]), 200);
  const f1 = fieldValues(h, [[197], [198], [138, 0xffffffff], [139, 0xffffffff]]);
  const t1 = Date.now();
  await sleep(1000);
  const f2 = fieldValues(h, [[197], [198], [138, 0xffffffff], [139, 0xffffffff]]);
  g.fields.ratesOver1s = f2.values.map((v, k) => ({ id: v.id, perS: v.value !== null && f1.values[k].value !== null ? (v.value - f1.values[k].value) / ((Date.now() - t1) / 1000) : null }));
  // PCIe: generation, width and throughput (blocks ~20 ms per direction).
  const gen = [0], width = [0], maxGen = [0];
  g.pcie = { gen: nvml.pcieGen(h, gen) === 0 ? gen[0] : null, width: nvml.pcieWidth(h, width) === 0 ? width[0] : null, maxGen: nvml.pcieMaxGen(h, maxGen) === 0 ? maxGen[0] : null };
  const tx = [0], rx = [0];
  g.pcie.throughputKBps = { tx: err(nvml.pcieTp(h, 0, tx)) === 'ok' ? tx[0] : null, rx: err(nvml.pcieTp(h, 1, rx)) === 'ok' ? rx[0] : null };
  g.pcie.throughputCost = cost(() => nvml.pcieTp(h, 0, [0]), 20);
  // Processes: running compute processes (is the load's pid there?) and per-process utilization.
  const pbuf = Buffer.alloc(64 * 24);
  const pc = [64];
  const prc = nvml.procs(h, pc, pbuf);
  g.processes = { rc: err(prc), list: prc === 0 ? Array.from({ length: pc[0] }, (_, k) => ({ pid: pbuf.readUInt32LE(k * 24), usedMib: Math.round(Number(pbuf.readBigUInt64LE(k * 24 + 8)) / 1048576) })) : [], cost: cost(() => nvml.procs(h, [64], pbuf), 200) };
  g.processes.loadListed = g.processes.list.some((p) => p.pid === loadPid);
  const ubuf = Buffer.alloc(64 * 32);
  const uc = [64];
  const urc = nvml.procUtil(h, ubuf, uc, 0);
  g.processUtil = { rc: err(urc), samples: urc === 0 ? Array.from({ length: uc[0] }, (_, k) => ({ pid: ubuf.readUInt32LE(k * 32), tsMinusNowMs: Math.round(Number(ubuf.readBigUInt64LE(k * 32 + 8)) / 1000 - Date.now()), sm: ubuf.readUInt32LE(k * 32 + 16), mem: ubuf.readUInt32LE(k * 32 + 20) })) : [], cost: cost(() => nvml.procUtil(h, ubuf, [64], Date.now() * 1000 - 500_000), 200) };
  // GPM: what one get costs per metric alone, per set, and all nine (the agent's pacing is calibrated from these).
  const a = [null], b = [null];
  if (nvml.gpmAlloc(a) === 0 && nvml.gpmAlloc(b) === 0 && nvml.gpmGet(h, a[0]) === 0) {
    await sleep(200);
    nvml.gpmGet(h, b[0]);
    const get = (ids) => () => nvml.gpmMetrics({ version: 1, numMetrics: ids.length, s1: a[0], s2: b[0], metrics: Array.from({ length: 16 }, (_, k) => ({ metricId: ids[k] ?? 0, nvmlReturn: 0, value: 0, a: null, b: null, c: null })) });
    const all = [1, 2, 3, 5, 10, 20, 21, 60, 61];
    g.gpm = { single: Object.fromEntries(all.map((id) => [id, cost(get([id]), 50)])), core5: cost(get([1, 2, 3, 5, 10]), 50), smTensorDram: cost(get([2, 5, 10]), 50), links4: cost(get([20, 21, 60, 61]), 50), all9: cost(get(all), 50), sampleGet: cost(() => nvml.gpmGet(h, b[0]), 200) };
  } else g.gpm = 'not supported';
  out.gpus.push(g);
}

// The agent itself against the load: 8 s of `sample` at 10 Hz.
const run = spawnSync(process.execPath, [agent, 'sample', '--interval-ms', '100', '--duration-s', '8', '--pid', String(loadPid)], { encoding: 'utf8', maxBuffer: 1 << 28 });
const lines = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const kinds = {};
for (const s of lines) {
  if (s.source === 'health') continue;
  const key = `${s.source}${s.gpu !== undefined ? ` gpu${s.gpu}` : ''}${s.pid !== undefined ? ` pid${s.pid === loadPid ? '=load' : ''}` : ''}: ${Object.keys(s.m).sort().join(',')}`;
  const k = (kinds[key] ??= { n: 0, dur: [], last: null });
  k.n++;
  k.dur.push(s.dur_ms);
  k.last = s.m;
}
for (const k of Object.values(kinds)) {
  const d = k.dur.filter((x) => x !== undefined).sort((a, b) => a - b);
  k.dur = d.length ? { min: d[0], median: d[d.length >> 1], max: d.at(-1), missing: k.dur.length - d.length } : 'none';
}
out.agent = { samples: lines.length, kinds, health: lines.filter((l) => l.source === 'health'), log: run.stderr.split('\n').filter(Boolean) };
out.probe = JSON.parse(execFileSync(process.execPath, [agent, 'probe', '--json'], { encoding: 'utf8' }));
load.kill('SIGTERM');
const text = JSON.stringify(out, null, 1);
if (process.env.OUT) {
  mkdirSync(process.env.OUT, { recursive: true });
  writeFileSync(path.join(process.env.OUT, 'nvml-check.json'), text);
}
console.log(text);
process.exit(0);
