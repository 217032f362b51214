#!/usr/bin/env node
// On a GPU machine: CPU cost of each NVML call the agent makes, through koffi (µs of CPU per call).
import { createRequire } from 'node:module';
const koffi = createRequire(process.argv[2] + '/')('koffi');
const lib = koffi.load('libnvidia-ml.so.1');
const dev = koffi.pointer('nvmlDevice_t', koffi.opaque('nvmlDevice_st'));
const smp = koffi.pointer('nvmlGpmSample_t', koffi.opaque('nvmlGpmSample_st'));
koffi.struct('U', { gpu: 'uint', memory: 'uint' });
koffi.struct('M2', { version: 'uint', total: 'ulonglong', reserved: 'ulonglong', free: 'ulonglong', used: 'ulonglong' });
const metric = koffi.struct('GM', { metricId: 'uint', nvmlReturn: 'int', value: 'double', a: 'void *', b: 'void *', c: 'void *' });
koffi.struct('GMG', { version: 'uint', numMetrics: 'uint', s1: smp, s2: smp, metrics: koffi.array(metric, 16) });
const f = (d) => lib.func(d);
f('int nvmlInit_v2()')();
const h = [null]; f('int nvmlDeviceGetHandleByIndex_v2(unsigned int, _Out_ nvmlDevice_t *)')(0, h);
const H = h[0];
const o = [0];
const calls = {
  utilization: [f('int nvmlDeviceGetUtilizationRates(nvmlDevice_t, _Out_ U *)'), () => [H, {}]],
  memory_v2: [f('int nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t, _Inout_ M2 *)'), () => [H, { version: 40 | (2 << 24) }]],
  power: [f('int nvmlDeviceGetPowerUsage(nvmlDevice_t, _Out_ unsigned int *)'), () => [H, o]],
  powerLimit: [f('int nvmlDeviceGetPowerManagementLimit(nvmlDevice_t, _Out_ unsigned int *)'), () => [H, o]],
  temperature: [f('int nvmlDeviceGetTemperature(nvmlDevice_t, int, _Out_ unsigned int *)'), () => [H, 0, o]],
  clockSm: [f('int nvmlDeviceGetClockInfo(nvmlDevice_t, int, _Out_ unsigned int *)'), () => [H, 1, o]],
  maxClock: [f('int nvmlDeviceGetMaxClockInfo(nvmlDevice_t, int, _Out_ unsigned int *)'), () => [H, 1, o]],
  pstate: [f('int nvmlDeviceGetPerformanceState(nvmlDevice_t, _Out_ int *)'), () => [H, o]],
  eventReasons: [f('int nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t, _Out_ unsigned long long *)'), () => [H, o]],
  pcieGen: [f('int nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_t, _Out_ unsigned int *)'), () => [H, o]],
  pcieWidth: [f('int nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_t, _Out_ unsigned int *)'), () => [H, o]],
  fan: [f('int nvmlDeviceGetFanSpeed(nvmlDevice_t, _Out_ unsigned int *)'), () => [H, o]],
  ecc: [f('int nvmlDeviceGetTotalEccErrors(nvmlDevice_t, int, int, _Out_ unsigned long long *)'), () => [H, 1, 0, o]],
};
const a = [null], b = [null];
f('int nvmlGpmSampleAlloc(_Out_ nvmlGpmSample_t *)')(a); f('int nvmlGpmSampleAlloc(_Out_ nvmlGpmSample_t *)')(b);
const gget = f('int nvmlGpmSampleGet(nvmlDevice_t, nvmlGpmSample_t)');
const gm = f('int nvmlGpmMetricsGet(_Inout_ GMG *)');
calls.gpmSampleGet = [gget, () => [H, a[0]]];
gget(H, b[0]);
const ids = [1, 2, 3, 5, 10, 20, 21, 60, 61];
calls.gpmMetricsGet = [gm, () => [{ version: 1, numMetrics: 9, s1: b[0], s2: a[0], metrics: Array.from({ length: 16 }, (_, i) => ({ metricId: ids[i] ?? 0, nvmlReturn: 0, value: 0, a: null, b: null, c: null })) }]];
const res = {};
for (const [name, [fn, args]] of Object.entries(calls)) {
  const n = name.startsWith('gpm') ? 200 : 2000;
  const c0 = process.cpuUsage(); const w0 = performance.now();
  let rc = 0;
  for (let i = 0; i < n; i++) rc = fn(...args());
  const c = process.cpuUsage(c0);
  res[name] = { rc, cpuUs: Math.round(((c.user + c.system) / n) * 10) / 10, wallUs: Math.round(((performance.now() - w0) * 1000 / n) * 10) / 10 };
}
console.log(JSON.stringify(res, null, 1));
