import { createRequire } from 'node:module';
import { StagewatchError } from '@stagewatch/shared';

/**
 * NVML through koffi, loaded at run time: no compiler, no CUDA headers. Only the handful of
 * calls the sampler needs are declared; structs follow nvml.h (driver 525+ for GPM).
 */
type Koffi = typeof import('koffi');
type KoffiFn = (...args: unknown[]) => unknown;

export const NVML_SUCCESS = 0;
export const NVML_ERROR_NOT_SUPPORTED = 3;
export const NVML_ERROR_NOT_FOUND = 6;
export const NVML_ERROR_INSUFFICIENT_SIZE = 7;
const NVML_TEMPERATURE_GPU = 0;
const NVML_CLOCK_SM = 1;
const NVML_CLOCK_MEM = 2;
const NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1;
const NVML_VOLATILE_ECC = 0;
/** NVML_STRUCT_VERSION(Memory, 2): sizeof(nvmlMemory_v2_t) | 2 << 24. */
const NVML_MEMORY_V2 = 40 | (2 << 24);
const NVML_GPM_METRICS_GET_VERSION = 1;
const NVML_GPM_SUPPORT_VERSION = 1;
/** How many metrics one nvmlGpmMetricsGet asks for at most (NVML reads numMetrics entries). */
export const GPM_SLOTS = 16;

export interface NvmlApi {
  koffi: Koffi;
  version: string;
  call: Record<string, KoffiFn>;
  types: { device: unknown; gpmSample: unknown };
  errorString(code: number): string;
  /** The driver's time of a GPM sample's counters (µs since the epoch), where it can be read; see gpmSampleTimeUs. */
  gpmSampleTimeUs(sample: unknown): number | null;
}

/**
 * nvmlGpmSample_t is opaque, but GPM counters are not read when nvmlGpmSampleGet is called: the
 * driver refreshes them every 100 ms and hands out the latest refresh. Measured on an H100, driver
 * 580 (test/gpu/gpm_timing.py, docs/gpu-run-h100/gpm-timing.json): the sample's bytes 8-15 hold
 * that refresh's time in ns since the epoch (readable about 4.5 ms after it); it steps by
 * 100.02 ms, and two samples of one refresh give metrics of 0. GpmReader checks what this
 * returns before trusting it.
 */
export const GPM_SAMPLE_TIME_OFFSET = 8;

let cached: NvmlApi | null = null;

/** The NVML library's name when the config names none (`STAGEWATCH_NVML_LIB`). */
export const NVML_LIB = 'libnvidia-ml.so.1';

/** Loads NVML from `libPath` and initialises it; throws a StagewatchError saying why it cannot. */
export function loadNvml(libPath: string): NvmlApi {
  if (cached) return cached;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    throw new StagewatchError('nvml-unavailable', `koffi not installed next to the agent (${(e as Error).message.split('\n')[0]})`);
  }
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load(libPath);
  } catch (e) {
    throw new StagewatchError('nvml-unavailable', `cannot load ${libPath}: ${(e as Error).message}`);
  }
  const device = koffi.pointer('nvmlDevice_t', koffi.opaque('nvmlDevice_st'));
  const gpmSample = koffi.pointer('nvmlGpmSample_t', koffi.opaque('nvmlGpmSample_st'));
  koffi.struct('nvmlUtilization_t', { gpu: 'uint', memory: 'uint' });
  koffi.struct('nvmlMemory_v2_t', { version: 'uint', total: 'ulonglong', reserved: 'ulonglong', free: 'ulonglong', used: 'ulonglong' });
  koffi.struct('nvmlGpmSupport_t', { version: 'uint', isSupportedDevice: 'uint' });
  const metric = koffi.struct('nvmlGpmMetric_t', {
    metricId: 'uint',
    nvmlReturn: 'int',
    value: 'double',
    shortName: 'void *',
    longName: 'void *',
    unit: 'void *',
  });
  koffi.struct('nvmlGpmMetricsGet_t', {
    version: 'uint',
    numMetrics: 'uint',
    sample1: gpmSample,
    sample2: gpmSample,
    metrics: koffi.array(metric, GPM_SLOTS),
  });
  const decls: Record<string, string> = {
    init: 'int nvmlInit_v2()',
    shutdown: 'int nvmlShutdown()',
    errorString: 'const char *nvmlErrorString(int)',
    driverVersion: 'int nvmlSystemGetDriverVersion(_Out_ char *version, unsigned int length)',
    count: 'int nvmlDeviceGetCount_v2(_Out_ unsigned int *count)',
    handle: 'int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ nvmlDevice_t *device)',
    name: 'int nvmlDeviceGetName(nvmlDevice_t device, _Out_ char *name, unsigned int length)',
    uuid: 'int nvmlDeviceGetUUID(nvmlDevice_t device, _Out_ char *uuid, unsigned int length)',
    utilization: 'int nvmlDeviceGetUtilizationRates(nvmlDevice_t device, _Out_ nvmlUtilization_t *utilization)',
    memory: 'int nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, _Inout_ nvmlMemory_v2_t *memory)',
    power: 'int nvmlDeviceGetPowerUsage(nvmlDevice_t device, _Out_ unsigned int *milliwatts)',
    powerLimit: 'int nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, _Out_ unsigned int *milliwatts)',
    temperature: 'int nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, _Out_ unsigned int *temp)',
    clock: 'int nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, _Out_ unsigned int *mhz)',
    maxClock: 'int nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, int type, _Out_ unsigned int *mhz)',
    pstate: 'int nvmlDeviceGetPerformanceState(nvmlDevice_t device, _Out_ int *pstate)',
    eventReasons: 'int nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, _Out_ unsigned long long *reasons)',
    pcieGen: 'int nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_t device, _Out_ unsigned int *gen)',
    pcieWidth: 'int nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_t device, _Out_ unsigned int *width)',
    fan: 'int nvmlDeviceGetFanSpeed(nvmlDevice_t device, _Out_ unsigned int *speed)',
    migMode: 'int nvmlDeviceGetMigMode(nvmlDevice_t device, _Out_ unsigned int *current, _Out_ unsigned int *pending)',
    ecc: 'int nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, int errorType, int counterType, _Out_ unsigned long long *count)',
    gpmSupport: 'int nvmlGpmQueryDeviceSupport(nvmlDevice_t device, _Inout_ nvmlGpmSupport_t *support)',
    gpmAlloc: 'int nvmlGpmSampleAlloc(_Out_ nvmlGpmSample_t *sample)',
    gpmFree: 'int nvmlGpmSampleFree(nvmlGpmSample_t sample)',
    gpmGet: 'int nvmlGpmSampleGet(nvmlDevice_t device, nvmlGpmSample_t sample)',
    gpmMetrics: 'int nvmlGpmMetricsGet(_Inout_ nvmlGpmMetricsGet_t *metrics)',
    // Arrays of structs go through Buffers decoded in nvml/decode.ts: koffi would otherwise turn
    // every element into a JS object on each call.
    fieldValues: 'int nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount, void *values)',
    samples: 'int nvmlDeviceGetSamples(nvmlDevice_t device, int type, unsigned long long lastSeenTimeStamp, _Out_ int *sampleValType, _Inout_ unsigned int *sampleCount, void *samples)',
    nvLinkState: 'int nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link, _Out_ int *isActive)',
    nvLinkVersion: 'int nvmlDeviceGetNvLinkVersion(nvmlDevice_t device, unsigned int link, _Out_ unsigned int *version)',
    computeProcs: 'int nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, _Inout_ unsigned int *infoCount, void *infos)',
    processUtil: 'int nvmlDeviceGetProcessUtilization(nvmlDevice_t device, void *utilization, _Inout_ unsigned int *processSamplesCount, unsigned long long lastSeenTimeStamp)',
    pcieThroughput: 'int nvmlDeviceGetPcieThroughput(nvmlDevice_t device, int counter, _Out_ unsigned int *value)',
  };
  const call: Record<string, KoffiFn> = {};
  for (const [k, d] of Object.entries(decls)) {
    try {
      call[k] = lib.func(d) as KoffiFn;
    } catch {
      // An older driver lacks this symbol (GPM before r525, event reasons before r535): that metric stays absent.
    }
  }
  const errorString = (code: number): string => {
    try {
      return String((call.errorString as (c: number) => string)(code));
    } catch {
      return `NVML error ${code}`;
    }
  };
  const rc = call.init ? Number(call.init()) : -1;
  if (rc !== NVML_SUCCESS) throw new StagewatchError('nvml-unavailable', `nvmlInit failed: ${errorString(rc)}`);
  const buf = Buffer.alloc(96);
  const version = call.driverVersion?.(buf, buf.length) === NVML_SUCCESS ? buf.toString('utf8').replace(/\0.*$/s, '') : 'unknown';
  const gpmSampleTimeUs = (sample: unknown): number | null => {
    try {
      return Number(BigInt(koffi.decode(sample, GPM_SAMPLE_TIME_OFFSET, 'uint64') as bigint | number) / 1000n);
    } catch {
      return null;
    }
  };
  cached = { koffi, version, call, types: { device, gpmSample }, errorString, gpmSampleTimeUs };
  return cached;
}

export const CONSTANTS = {
  NVML_TEMPERATURE_GPU,
  NVML_CLOCK_SM,
  NVML_CLOCK_MEM,
  NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
  NVML_VOLATILE_ECC,
  NVML_MEMORY_V2,
  NVML_GPM_METRICS_GET_VERSION,
  NVML_GPM_SUPPORT_VERSION,
};
