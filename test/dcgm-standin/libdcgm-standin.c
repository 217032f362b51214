/*
 * A stand-in for libdcgm.so.4: the subset of DCGM's C API the agent calls, with DCGM's own types,
 * struct layouts and version constants (dcgm_structs.h, dcgm_agent.h, dcgm_fields.h of
 * NVIDIA/DCGM), so the agent's koffi bindings are exercised against the real ABI. It holds no GPU:
 * the profiling values it returns are a replay of a real capture (rows of a file the test writes
 * from test/fixtures/h100-gpm-extra/dmon-gpm-all.txt), one row per watch interval.
 *
 * Environment:
 *   STANDIN_DCGM_LOG         append one line per call here (what the test checks)
 *   STANDIN_DCGM_HOSTENGINE  "1": dcgmConnect_v2 succeeds (a running nv-hostengine); else it fails
 *                            with DCGM_ST_CONNECTION_NOT_VALID, as when none runs
 *   STANDIN_DCGM_GPUS        how many GPUs (default 1); each gets the same row
 *   STANDIN_DCGM_REPLAY      rows "sm occ tensor dram pcitx pcirx nvlrx nvltx" (ratios 0-1 and
 *                            bytes/s; "-" where the capture had no value: returned as DCGM's blank)
 *   STANDIN_DCGM_PROFILING   "unsupported": dcgmWatchFields answers DCGM_ST_PROFILING_NOT_SUPPORTED
 *
 * Built by the tests: gcc -shared -fPIC -o libdcgm.so.4 libdcgm-standin.c
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

/* dcgm_structs.h */
typedef int dcgmReturn_t;
typedef uintptr_t dcgmHandle_t;
typedef uintptr_t dcgmGpuGrp_t;
typedef uintptr_t dcgmFieldGrp_t;
typedef unsigned int dcgm_field_eid_t;
typedef enum { DCGM_FE_NONE = 0, DCGM_FE_GPU = 1 } dcgm_field_entity_group_t;
#define MAKE_DCGM_VERSION(typeName, ver) (unsigned int)(sizeof(typeName) | ((unsigned long)(ver) << 24U))
#define DCGM_ST_OK 0
#define DCGM_ST_BADPARAM -1
#define DCGM_ST_NOT_SUPPORTED -6
#define DCGM_ST_UNINITIALIZED -10
#define DCGM_ST_VER_MISMATCH -12
#define DCGM_ST_NOT_WATCHED -16
#define DCGM_ST_CONNECTION_NOT_VALID -21
#define DCGM_ST_PROFILING_NOT_SUPPORTED -36
#define DCGM_MAX_NUM_DEVICES 32
#define DCGM_MAX_STR_LENGTH 256
#define DCGM_MAX_BLOB_LENGTH 4096
#define DCGM_INT64_BLANK 0x7ffffffffffffff0LL
#define DCGM_FP64_BLANK 140737488355328.0
#define DCGM_FT_DOUBLE 'd'
#define DCGM_FT_INT64 'i'
#define DCGM_GROUP_EMPTY 1

typedef struct
{
    unsigned int version;
    unsigned short fieldId;
    unsigned short fieldType;
    int status;
    int64_t ts;
    union
    {
        int64_t i64;
        double dbl;
        char str[DCGM_MAX_STR_LENGTH];
        char blob[DCGM_MAX_BLOB_LENGTH];
    } value;
} dcgmFieldValue_v1;
#define dcgmFieldValue_version1 MAKE_DCGM_VERSION(dcgmFieldValue_v1, 1)

typedef struct
{
    unsigned int version;
    unsigned int persistAfterDisconnect;
    unsigned int timeoutMs;
    unsigned int addressIsUnixSocket;
} dcgmConnectV2Params_v2;
#define dcgmConnectV2Params_version2 MAKE_DCGM_VERSION(dcgmConnectV2Params_v2, 2)

typedef int (*dcgmFieldValueEntityEnumeration_f)(dcgm_field_entity_group_t entityGroupId,
                                                 dcgm_field_eid_t entityId,
                                                 dcgmFieldValue_v1 *values,
                                                 int numValues,
                                                 void *userData);

/* The stand-in's state. */
static int g_init = 0;
static dcgmHandle_t g_handle = 0;
static unsigned short g_fields[64];
static int g_nfields = 0;
static unsigned int g_group[DCGM_MAX_NUM_DEVICES];
static int g_ngroup = 0;
static long long g_freq = 0;
static int64_t g_watch_start = 0;
static int g_paused = 0;

static void logf_(const char *fmt, ...)
{
    const char *path = getenv("STANDIN_DCGM_LOG");
    if (!path)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static int64_t now_usec(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static int gpu_count(void)
{
    const char *n = getenv("STANDIN_DCGM_GPUS");
    return n ? atoi(n) : 1;
}

const char *errorString(dcgmReturn_t result)
{
    switch (result)
    {
        case DCGM_ST_OK: return "Success";
        case DCGM_ST_CONNECTION_NOT_VALID: return "Connection to the host engine is not valid any longer";
        case DCGM_ST_PROFILING_NOT_SUPPORTED: return "Profiling is not supported for this group of GPUs or GPU";
        case DCGM_ST_NOT_WATCHED: return "Field is not being updated";
        default: return "Unknown Error";
    }
}

dcgmReturn_t dcgmInit(void)
{
    g_init = 1;
    logf_("dcgmInit");
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmShutdown(void)
{
    g_init = 0;
    logf_("dcgmShutdown");
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmConnect_v2(const char *ipAddress, dcgmConnectV2Params_v2 *params, dcgmHandle_t *pDcgmHandle)
{
    if (!g_init)
        return DCGM_ST_UNINITIALIZED;
    if (!params || params->version != dcgmConnectV2Params_version2)
    {
        logf_("dcgmConnect_v2 version mismatch %u", params ? params->version : 0);
        return DCGM_ST_VER_MISMATCH;
    }
    const char *he = getenv("STANDIN_DCGM_HOSTENGINE");
    logf_("dcgmConnect_v2 %s timeoutMs=%u unix=%u persist=%u", ipAddress, params->timeoutMs, params->addressIsUnixSocket, params->persistAfterDisconnect);
    if (!he || strcmp(he, "1") != 0)
        return DCGM_ST_CONNECTION_NOT_VALID;
    g_handle = 0x4e47;
    *pDcgmHandle = g_handle;
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmDisconnect(dcgmHandle_t h)
{
    logf_("dcgmDisconnect %s", h == g_handle ? "ok" : "bad-handle");
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmStartEmbedded(int opMode, dcgmHandle_t *pDcgmHandle)
{
    if (!g_init)
        return DCGM_ST_UNINITIALIZED;
    logf_("dcgmStartEmbedded opMode=%d", opMode);
    g_handle = 0xe3b;
    *pDcgmHandle = g_handle;
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmStopEmbedded(dcgmHandle_t h)
{
    logf_("dcgmStopEmbedded %s", h == g_handle ? "ok" : "bad-handle");
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmGetAllSupportedDevices(dcgmHandle_t h, unsigned int gpuIdList[DCGM_MAX_NUM_DEVICES], int *count)
{
    (void)h;
    int n = gpu_count();
    for (int i = 0; i < n && i < DCGM_MAX_NUM_DEVICES; i++)
        gpuIdList[i] = (unsigned int)i;
    *count = n;
    logf_("dcgmGetAllSupportedDevices %d", n);
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmGroupCreate(dcgmHandle_t h, int type, const char *groupName, dcgmGpuGrp_t *pDcgmGrpId)
{
    (void)h;
    logf_("dcgmGroupCreate type=%d name=%s", type, groupName);
    g_ngroup = 0;
    *pDcgmGrpId = 7;
    return type == DCGM_GROUP_EMPTY ? DCGM_ST_OK : DCGM_ST_BADPARAM;
}

dcgmReturn_t dcgmGroupAddDevice(dcgmHandle_t h, dcgmGpuGrp_t groupId, unsigned int gpuId)
{
    (void)h;
    if (groupId != 7 || g_ngroup >= DCGM_MAX_NUM_DEVICES)
        return DCGM_ST_BADPARAM;
    g_group[g_ngroup++] = gpuId;
    logf_("dcgmGroupAddDevice %u", gpuId);
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmGroupDestroy(dcgmHandle_t h, dcgmGpuGrp_t groupId)
{
    (void)h;
    logf_("dcgmGroupDestroy %lu", (unsigned long)groupId);
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmFieldGroupCreate(dcgmHandle_t h, int numFieldIds, unsigned short *fieldIds, const char *name, dcgmFieldGrp_t *id)
{
    (void)h;
    char buf[512] = "";
    g_nfields = numFieldIds < 64 ? numFieldIds : 64;
    for (int i = 0; i < g_nfields; i++)
    {
        g_fields[i] = fieldIds[i];
        char one[16];
        snprintf(one, sizeof one, "%s%u", i ? "," : "", fieldIds[i]);
        strncat(buf, one, sizeof buf - strlen(buf) - 1);
    }
    logf_("dcgmFieldGroupCreate name=%s fields=%s", name, buf);
    *id = 9;
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmFieldGroupDestroy(dcgmHandle_t h, dcgmFieldGrp_t id)
{
    (void)h;
    logf_("dcgmFieldGroupDestroy %lu", (unsigned long)id);
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmWatchFields(dcgmHandle_t h, dcgmGpuGrp_t groupId, dcgmFieldGrp_t fieldGroupId, long long updateFreq, double maxKeepAge, int maxKeepSamples)
{
    (void)h;
    logf_("dcgmWatchFields group=%lu fields=%lu updateFreq=%lld maxKeepAge=%.1f maxKeepSamples=%d", (unsigned long)groupId, (unsigned long)fieldGroupId, updateFreq, maxKeepAge, maxKeepSamples);
    const char *p = getenv("STANDIN_DCGM_PROFILING");
    if (p && strcmp(p, "unsupported") == 0)
        return DCGM_ST_PROFILING_NOT_SUPPORTED;
    g_freq = updateFreq;
    g_watch_start = now_usec();
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmUnwatchFields(dcgmHandle_t h, dcgmGpuGrp_t groupId, dcgmFieldGrp_t fieldGroupId)
{
    (void)h;
    logf_("dcgmUnwatchFields group=%lu fields=%lu", (unsigned long)groupId, (unsigned long)fieldGroupId);
    g_freq = 0;
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmProfPause(dcgmHandle_t h)
{
    (void)h;
    g_paused = 1;
    logf_("dcgmProfPause");
    return DCGM_ST_OK;
}

dcgmReturn_t dcgmProfResume(dcgmHandle_t h)
{
    (void)h;
    g_paused = 0;
    logf_("dcgmProfResume");
    return DCGM_ST_OK;
}

/* Row `idx` of the replay file into cols[8]; "-" as NaN. Returns the rows in the file. */
static int replay_row(long idx, double cols[8])
{
    const char *path = getenv("STANDIN_DCGM_REPLAY");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return 0;
    char line[512];
    int rows = 0;
    char last[512] = "";
    while (fgets(line, sizeof line, f))
    {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (rows <= idx)
            strcpy(last, line);
        rows++;
    }
    fclose(f);
    char *save = NULL;
    char *tok = strtok_r(last, " \t\n", &save);
    for (int c = 0; c < 8; c++)
    {
        cols[c] = (tok && strcmp(tok, "-") != 0) ? atof(tok) : (0.0 / 0.0);
        tok = tok ? strtok_r(NULL, " \t\n", &save) : NULL;
    }
    return rows;
}

static int column_of(unsigned short fieldId)
{
    switch (fieldId)
    {
        case 1002: return 0; /* DCGM_FI_PROF_SM_ACTIVE */
        case 1003: return 1; /* DCGM_FI_PROF_SM_OCCUPANCY */
        case 1004: return 2; /* DCGM_FI_PROF_PIPE_TENSOR_ACTIVE */
        case 1005: return 3; /* DCGM_FI_PROF_DRAM_ACTIVE */
        case 1009: return 4; /* DCGM_FI_PROF_PCIE_TX_BYTES */
        case 1010: return 5; /* DCGM_FI_PROF_PCIE_RX_BYTES */
        case 1011: return 7; /* DCGM_FI_PROF_NVLINK_TX_BYTES (the capture's nvltx is its last column) */
        case 1012: return 6; /* DCGM_FI_PROF_NVLINK_RX_BYTES */
        default: return -1;
    }
}

dcgmReturn_t dcgmGetLatestValues_v2(dcgmHandle_t h, dcgmGpuGrp_t groupId, dcgmFieldGrp_t fieldGroupId, dcgmFieldValueEntityEnumeration_f enumCB, void *userData)
{
    (void)h;
    (void)groupId;
    (void)fieldGroupId;
    if (g_freq <= 0 || g_paused)
        return DCGM_ST_NOT_WATCHED;
    int64_t now = now_usec();
    long intervals = (long)((now - g_watch_start) / g_freq);
    if (intervals < 1)
        return DCGM_ST_OK; /* nothing sampled yet: no callback, as DCGM before its first update */
    double cols[8];
    int rows = replay_row(intervals - 1, cols);
    static dcgmFieldValue_v1 values[64];
    for (int e = 0; e < g_ngroup; e++)
    {
        for (int i = 0; i < g_nfields; i++)
        {
            dcgmFieldValue_v1 *v = &values[i];
            memset(v, 0, sizeof *v);
            v->version = dcgmFieldValue_version1;
            v->fieldId = g_fields[i];
            v->ts = g_watch_start + (int64_t)intervals * g_freq;
            int c = column_of(g_fields[i]);
            int isBytes = g_fields[i] >= 1009;
            v->fieldType = isBytes ? DCGM_FT_INT64 : DCGM_FT_DOUBLE;
            if (c < 0 || rows == 0)
            {
                v->status = DCGM_ST_NOT_SUPPORTED;
                continue;
            }
            double x = cols[c];
            v->status = DCGM_ST_OK;
            if (isBytes)
                v->value.i64 = x != x ? DCGM_INT64_BLANK : (int64_t)x;
            else
                v->value.dbl = x != x ? DCGM_FP64_BLANK : x;
        }
        if (enumCB(DCGM_FE_GPU, g_group[e], values, g_nfields, userData) < 0)
            break;
    }
    logf_("dcgmGetLatestValues_v2 interval=%ld", intervals);
    return DCGM_ST_OK;
}
