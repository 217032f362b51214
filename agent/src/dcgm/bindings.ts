import { StagewatchError } from '@stagewatch/shared';
import { declareAll, errorStringOf, requireKoffi, type Koffi, type KoffiFn, type KoffiLib } from '../ffi.js';

/**
 * DCGM's C API through koffi, loaded at run time (no compiler, no DCGM headers needed). Only the
 * calls the sampler makes are declared; types, struct layouts and version constants follow
 * NVIDIA/DCGM's public headers (dcgmlib/dcgm_structs.h, dcgm_agent.h, dcgm_fields.h).
 *
 * NOT YET RUN AGAINST A REAL libdcgm: the tests load a stand-in built from C with the same
 * declarations (test/dcgm-standin/). docs/DCGM.md says what a real host must confirm.
 */

export const DCGM_ST_OK = 0;
export const DCGM_ST_CONNECTION_NOT_VALID = -21;
export const DCGM_ST_PROFILING_NOT_SUPPORTED = -36;
export const DCGM_OPERATION_MODE_AUTO = 1;
export const DCGM_GROUP_EMPTY = 1;
export const DCGM_MAX_NUM_DEVICES = 32;
export const DCGM_FE_GPU = 1;
/** Field types (dcgm_fields.h): DCGM_FT_DOUBLE 'd', DCGM_FT_INT64 'i'. */
export const DCGM_FT_DOUBLE = 'd'.charCodeAt(0);
export const DCGM_FT_INT64 = 'i'.charCodeAt(0);
/** Blank values (dcgm_structs.h): at or above these a value is "no data", "not supported" and the like. */
export const DCGM_FP64_BLANK = 140737488355328.0;
export const DCGM_INT64_BLANK = 0x7ffffffffffffff0n;

/** sizeof(dcgmFieldValue_v1): 4+2+2+4, 4 bytes padding, int64 ts, then a union of 4096 bytes. */
export const FIELD_VALUE_V1_SIZE = 4120;
/** MAKE_DCGM_VERSION(typeName, ver) = sizeof(typeName) | ver << 24. */
export const makeVersion = (size: number, ver: number): number => (size | (ver << 24)) >>> 0;
/** dcgmConnectV2Params_v2: four unsigned ints. */
export const CONNECT_V2_PARAMS_VERSION2 = makeVersion(16, 2);
export const FIELD_VALUE_VERSION1 = makeVersion(FIELD_VALUE_V1_SIZE, 1);

export interface DcgmApi {
  koffi: Koffi;
  /** The library file that loaded (libdcgm.so.4 or .so.3). */
  lib: string;
  call: Record<string, KoffiFn>;
  types: { head: unknown; headI64: unknown; callback: unknown };
  errorString(code: number): string;
}

let cached: DcgmApi | null = null;

/** The names tried in order: the one the config names (`STAGEWATCH_DCGM_LIB`), else DCGM 4, then DCGM 3. */
export function dcgmLibraryNames(named: string | undefined): string[] {
  return named ? [named] : ['libdcgm.so.4', 'libdcgm.so.3'];
}

/** Loads libdcgm and calls dcgmInit; throws a StagewatchError saying why it cannot. */
export function loadDcgm(names: readonly string[]): DcgmApi {
  if (cached) return cached;
  const koffi = requireKoffi('dcgm-unavailable');
  let lib: KoffiLib | null = null;
  let libName = '';
  const failures: string[] = [];
  for (const n of names) {
    try {
      lib = koffi.load(n);
      libName = n;
      break;
    } catch (e) {
      failures.push(`${n}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (!lib) throw new StagewatchError('dcgm-unavailable', `libdcgm not found (${failures.join('; ')})`);
  koffi.struct('dcgmConnectV2Params_v2', { version: 'uint', persistAfterDisconnect: 'uint', timeoutMs: 'uint', addressIsUnixSocket: 'uint' });
  // The value union is 4096 bytes; only its first 8 (i64 or dbl) are read, so each value is decoded
  // through a head struct at its offset rather than as a 4120-byte object.
  const head = koffi.struct('dcgmFieldValue_v1_head', { version: 'uint', fieldId: 'uint16', fieldType: 'uint16', status: 'int', ts: 'int64', dbl: 'double' });
  const headI64 = koffi.struct('dcgmFieldValue_v1_head_i64', { version: 'uint', fieldId: 'uint16', fieldType: 'uint16', status: 'int', ts: 'int64', i64: 'int64' });
  const callback = koffi.proto('int dcgmFieldValueEntityEnumeration_f(int entityGroupId, unsigned int entityId, void *values, int numValues, void *userData)');
  const decls: Record<string, string> = {
    init: 'int dcgmInit()',
    shutdown: 'int dcgmShutdown()',
    errorString: 'const char *errorString(int result)',
    connect: 'int dcgmConnect_v2(const char *ipAddress, dcgmConnectV2Params_v2 *connectParams, _Out_ uintptr_t *pDcgmHandle)',
    disconnect: 'int dcgmDisconnect(uintptr_t pDcgmHandle)',
    startEmbedded: 'int dcgmStartEmbedded(int opMode, _Out_ uintptr_t *pDcgmHandle)',
    stopEmbedded: 'int dcgmStopEmbedded(uintptr_t pDcgmHandle)',
    supportedDevices: 'int dcgmGetAllSupportedDevices(uintptr_t pDcgmHandle, _Out_ unsigned int *gpuIdList, _Out_ int *count)',
    groupCreate: 'int dcgmGroupCreate(uintptr_t pDcgmHandle, int type, const char *groupName, _Out_ uintptr_t *pDcgmGrpId)',
    groupAddDevice: 'int dcgmGroupAddDevice(uintptr_t pDcgmHandle, uintptr_t groupId, unsigned int gpuId)',
    groupDestroy: 'int dcgmGroupDestroy(uintptr_t pDcgmHandle, uintptr_t groupId)',
    fieldGroupCreate: 'int dcgmFieldGroupCreate(uintptr_t dcgmHandle, int numFieldIds, uint16_t *fieldIds, const char *fieldGroupName, _Out_ uintptr_t *dcgmFieldGroupId)',
    fieldGroupDestroy: 'int dcgmFieldGroupDestroy(uintptr_t dcgmHandle, uintptr_t dcgmFieldGroupId)',
    watchFields: 'int dcgmWatchFields(uintptr_t pDcgmHandle, uintptr_t groupId, uintptr_t fieldGroupId, long long updateFreq, double maxKeepAge, int maxKeepSamples)',
    unwatchFields: 'int dcgmUnwatchFields(uintptr_t pDcgmHandle, uintptr_t groupId, uintptr_t fieldGroupId)',
    latestValues: 'int dcgmGetLatestValues_v2(uintptr_t pDcgmHandle, uintptr_t groupId, uintptr_t fieldGroupId, dcgmFieldValueEntityEnumeration_f *enumCB, void *userData)',
    profPause: 'int dcgmProfPause(uintptr_t pDcgmHandle)',
    profResume: 'int dcgmProfResume(uintptr_t pDcgmHandle)',
  };
  const call = declareAll(lib, decls);
  const errorString = errorStringOf(call.errorString, 'DCGM');
  const missing = ['init', 'connect', 'startEmbedded', 'supportedDevices', 'groupCreate', 'fieldGroupCreate', 'watchFields', 'latestValues'].filter((k) => !call[k]);
  if (missing.length > 0) throw new StagewatchError('dcgm-unavailable', `${libName} lacks ${missing.join(', ')}`);
  const rc = Number(call.init?.());
  if (rc !== DCGM_ST_OK) throw new StagewatchError('dcgm-unavailable', `dcgmInit failed: ${errorString(rc)}`);
  cached = { koffi, lib: libName, call, types: { head, headI64, callback }, errorString };
  return cached;
}

/** Forgets the loaded library after dcgmShutdown, so a later start initialises it again. */
export function shutdownDcgm(api: DcgmApi): void {
  api.call.shutdown?.();
  if (cached === api) cached = null;
}
