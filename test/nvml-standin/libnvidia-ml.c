/*
 * A stand-in libnvidia-ml.so.1 with NVML's real ABI (function signatures, struct layouts and ids
 * from NVIDIA's public nvml.h), for testing the agent's koffi bindings end to end without a GPU:
 * Buffers passed as void *, in/out counts, 64-bit timestamps, koffi's async calls. It answers
 * with readings of the captured H100 under load (test/fixtures/h100-staged: q-under-load.xml,
 * dmon-gpm.txt during denoise). It is not NVML: test/gpu/nvml-check.mjs checks the real one.
 *
 * Environment: STANDIN_PID (the pid reported as a running compute process),
 * STANDIN_GPM=0 (a GPU without GPM), STANDIN_COUNTERS=0 (no PCIe byte counters, as before r550).
 *
 *   gcc -shared -fPIC -O2 -o libnvidia-ml.so.1 libnvidia-ml.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st { int index; } *nvmlDevice_t;
/* As the H100 measured (test/gpu/gpm_timing.py): the driver refreshes GPM counters every 100 ms, a
   sample holds the latest refresh, stamped at bytes 8-15 in ns since the epoch (here 0.25 ms past
   the 100 ms grid) and readable 4.5 ms after that; two samples of one refresh give metrics of 0. */
typedef struct nvmlGpmSample_st { uint64_t pad, refresh_ns; } *nvmlGpmSample_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } nvmlMemory_v2_t;
typedef struct { unsigned int version, isSupportedDevice; } nvmlGpmSupport_t;
typedef struct { char *shortName, *longName, *unit; } nvmlGpmMetricInfo_t;
typedef struct { unsigned int metricId; nvmlReturn_t nvmlReturn; double value; nvmlGpmMetricInfo_t metricInfo; } nvmlGpmMetric_t;
typedef struct { unsigned int version, numMetrics; nvmlGpmSample_t sample1, sample2; nvmlGpmMetric_t metrics[210]; } nvmlGpmMetricsGet_t;
typedef union { double dVal; int siVal; unsigned int uiVal; unsigned long ulVal; unsigned long long ullVal; long long sllVal; unsigned short usVal; } nvmlValue_t;
typedef struct { unsigned int fieldId, scopeId; long long timestamp, latencyUsec; int valueType; nvmlReturn_t nvmlReturn; nvmlValue_t value; } nvmlFieldValue_t;
typedef struct { unsigned long long timeStamp; nvmlValue_t sampleValue; } nvmlSample_t;
typedef struct { unsigned int pid; unsigned long long usedGpuMemory; unsigned int gpuInstanceId, computeInstanceId; } nvmlProcessInfo_t;
typedef struct { unsigned int pid; unsigned long long timeStamp; unsigned int smUtil, memUtil, encUtil, decUtil; } nvmlProcessUtilizationSample_t;

enum { OK = 0, INVALID_ARGUMENT = 2, NOT_SUPPORTED = 3, NOT_FOUND = 6, INSUFFICIENT_SIZE = 7 };
static struct nvmlDevice_st gpu0 = {0};
static uint64_t started_us;
static const uint64_t PERIOD_US = 200000; /* NVML's utilization period on the captured H100 */

static uint64_t now_us(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec * 1000000u + tv.tv_usec;
}
static int env_is(const char *k, const char *v) { const char *e = getenv(k); return e && strcmp(e, v) == 0; }

nvmlReturn_t nvmlInit_v2(void) { started_us = now_us(); return OK; }
nvmlReturn_t nvmlShutdown(void) { return OK; }
const char *nvmlErrorString(nvmlReturn_t r) { return r == NOT_SUPPORTED ? "Not Supported" : r == NOT_FOUND ? "Not Found" : r == INSUFFICIENT_SIZE ? "Insufficient Size" : "Unknown Error"; }
nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int n) { strncpy(v, "580.159.04", n); return OK; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *c) { *c = 1; return OK; }
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) { if (i) return INVALID_ARGUMENT; *d = &gpu0; return OK; }
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *s, unsigned int n) { (void)d; strncpy(s, "NVIDIA H100 80GB HBM3", n); return OK; }
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *s, unsigned int n) { (void)d; strncpy(s, "GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba", n); return OK; }
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) { (void)d; u->gpu = 100; u->memory = 31; return OK; }
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m) {
  (void)d;
  if (m->version != (40u | (2u << 24))) return INVALID_ARGUMENT;
  m->total = 81559ull << 20; m->reserved = 480ull << 20; m->used = 1766ull << 20; m->free = m->total - m->reserved - m->used;
  return OK;
}
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) { (void)d; *mw = 690000; return OK; }
nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t d, unsigned int *mw) { (void)d; *mw = 700000; return OK; }
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int s, unsigned int *t) { (void)d; (void)s; *t = 60; return OK; }
nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned int *mhz) { (void)d; *mhz = type == 1 ? 1980 : 2619; return OK; }
nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t d, int type, unsigned int *mhz) { (void)d; *mhz = type == 1 ? 1980 : 2619; return OK; }
nvmlReturn_t nvmlDeviceGetPerformanceState(nvmlDevice_t d, int *p) { (void)d; *p = 0; return OK; }
nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *r) { (void)d; *r = 0; return OK; }
nvmlReturn_t nvmlDeviceGetCurrPcieLinkGeneration(nvmlDevice_t d, unsigned int *g) { (void)d; *g = 5; return OK; }
nvmlReturn_t nvmlDeviceGetCurrPcieLinkWidth(nvmlDevice_t d, unsigned int *w) { (void)d; *w = 16; return OK; }
nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t d, unsigned int *s) { (void)d; (void)s; return NOT_SUPPORTED; }
nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *c, unsigned int *p) { (void)d; *c = 0; *p = 0; return OK; }
nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, int e, int c, unsigned long long *n) { (void)d; (void)e; (void)c; *n = 0; return OK; }

nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t d, nvmlGpmSupport_t *s) { (void)d; if (s->version != 1) return INVALID_ARGUMENT; s->isSupportedDevice = !env_is("STANDIN_GPM", "0"); return OK; }
nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t *s) { *s = calloc(1, sizeof(struct nvmlGpmSample_st)); return OK; }
nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t s) { free(s); return OK; }
nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t d, nvmlGpmSample_t s) {
  (void)d;
  uint64_t readable = now_us() - 4750;
  s->refresh_ns = (readable - readable % 100000 + 250) * 1000ull;
  return OK;
}
nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t *m) {
  if (m->version != 1 || !m->sample1 || !m->sample2 || m->sample2->refresh_ns < m->sample1->refresh_ns) return INVALID_ARGUMENT;
  int same = m->sample2->refresh_ns == m->sample1->refresh_ns;
  for (unsigned int i = 0; i < m->numMetrics; i++) {
    nvmlGpmMetric_t *x = &m->metrics[i];
    x->nvmlReturn = OK;
    if (same) { x->value = 0; continue; }
    switch (x->metricId) {
      case 1: x->value = 99; break;  /* dmon-gpm.txt 14:47:51, denoise */
      case 2: x->value = 96; break;
      case 3: x->value = 14; break;
      case 5: x->value = 93; break;
      case 10: x->value = 25; break;
      case 20: x->value = 831.4; break; /* q-under-load.xml tx_util 851322 KB/s */
      case 21: x->value = 9383.0; break; /* rx_util 9608233 KB/s */
      default: x->nvmlReturn = NOT_SUPPORTED; /* NVLink: none in use on that VM */
    }
  }
  return OK;
}

nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int n, nvmlFieldValue_t *v) {
  (void)d;
  double s = (now_us() - started_us) / 1e6;
  for (int i = 0; i < n; i++) {
    v[i].timestamp = (long long)now_us();
    if ((v[i].fieldId == 197 || v[i].fieldId == 198) && !env_is("STANDIN_COUNTERS", "0")) {
      v[i].nvmlReturn = OK;
      v[i].valueType = 3;
      v[i].value.ullVal = (unsigned long long)(s * 1024.0 * (v[i].fieldId == 197 ? 851322.0 : 9608233.0));
    } else {
      v[i].nvmlReturn = NOT_SUPPORTED;
    }
  }
  return OK;
}

nvmlReturn_t nvmlDeviceGetSamples(nvmlDevice_t d, int type, unsigned long long lastSeen, int *valType, unsigned int *count, nvmlSample_t *out) {
  (void)d;
  if (type != 1) return NOT_SUPPORTED;
  uint64_t now = now_us(), last = now - now % PERIOD_US, first = last - 50 * PERIOD_US;
  if (first <= lastSeen) first = lastSeen - lastSeen % PERIOD_US + PERIOD_US;
  if (first > last) return NOT_FOUND;
  unsigned int n = (unsigned int)((last - first) / PERIOD_US + 1);
  if (n > *count) { first += (uint64_t)(n - *count) * PERIOD_US; n = *count; }
  for (unsigned int i = 0; i < n; i++) { out[i].timeStamp = first + i * PERIOD_US; out[i].sampleValue.uiVal = 100; }
  *valType = 1;
  *count = n;
  return OK;
}

nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t d, unsigned int link, int *active) { (void)d; (void)link; (void)active; return NOT_SUPPORTED; }
nvmlReturn_t nvmlDeviceGetNvLinkVersion(nvmlDevice_t d, unsigned int link, unsigned int *v) { (void)d; (void)link; (void)v; return NOT_SUPPORTED; }

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *p) {
  (void)d;
  const char *pid = getenv("STANDIN_PID");
  if (!pid) { *count = 0; return OK; }
  if (*count < 1 || !p) { *count = 1; return INSUFFICIENT_SIZE; }
  p[0].pid = (unsigned int)atoi(pid);
  p[0].usedGpuMemory = 1766ull << 20;
  p[0].gpuInstanceId = p[0].computeInstanceId = 0xffffffffu;
  *count = 1;
  return OK;
}

nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t d, nvmlProcessUtilizationSample_t *u, unsigned int *count, unsigned long long lastSeen) {
  (void)d;
  const char *pid = getenv("STANDIN_PID");
  uint64_t now = now_us(), last = now - now % PERIOD_US, first = last - 50 * PERIOD_US;
  if (!pid || last <= lastSeen) return NOT_FOUND;
  /* Like nvmlDeviceGetSamples: one reading per period since lastSeen, so a caller that reads
     late (a loaded machine) still sees consecutive periods, as NVML keeps them in its buffer. */
  if (first <= lastSeen) first = lastSeen - lastSeen % PERIOD_US + PERIOD_US;
  unsigned int n = (unsigned int)((last - first) / PERIOD_US + 1);
  /* The real H100 (driver 580) answered a 64-sample buffer with INSUFFICIENT_SIZE
     (docs/gpu-run-h100/gpm-util-every-tick/nvml-check.json): STANDIN_PROC_UTIL_MIN makes the
     stand-in ask for more room the same way. */
  const char *min_env = getenv("STANDIN_PROC_UTIL_MIN");
  unsigned int need = min_env ? (unsigned int)atoi(min_env) : 1;
  if (need < 1) need = 1;
  if (need < n) need = n;
  if (*count < need || !u) { *count = need; return INSUFFICIENT_SIZE; }
  for (unsigned int i = 0; i < n; i++) u[i] = (nvmlProcessUtilizationSample_t){ (unsigned int)atoi(pid), first + i * PERIOD_US, 97, 31, 0, 0 };
  *count = n;
  return OK;
}

nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t d, int counter, unsigned int *v) {
  (void)d;
  struct timespec ts = {0, 20 * 1000 * 1000}; /* NVML counts bytes over 20 ms and blocks meanwhile */
  nanosleep(&ts, NULL);
  *v = counter == 0 ? 851322 : 9608233;
  return OK;
}
