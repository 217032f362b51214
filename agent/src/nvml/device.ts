import { CONSTANTS, NVML_SUCCESS, type NvmlApi } from './bindings.js';

const MIB = 1024 * 1024;

export interface NvmlDevice {
  index: number;
  handle: unknown;
  name: string;
  uuid: string;
  memTotalMib: number | null;
  gpm: boolean;
  migMode: string | null;
}

/** Enumerates the GPUs NVML sees, with GPM support per GPU. */
export function nvmlDevices(api: NvmlApi): NvmlDevice[] {
  const c = api.call;
  const count = [0];
  if (Number(c.count?.(count)) !== NVML_SUCCESS) return [];
  const out: NvmlDevice[] = [];
  for (let index = 0; index < (count[0] as number); index++) {
    const h: unknown[] = [null];
    if (Number(c.handle?.(index, h)) !== NVML_SUCCESS) continue;
    const handle = h[0];
    const str = (fn: string): string => {
      const b = Buffer.alloc(96);
      return Number(c[fn]?.(handle, b, b.length)) === NVML_SUCCESS ? b.toString('utf8').replace(/\0.*$/s, '') : '';
    };
    const mem = { version: CONSTANTS.NVML_MEMORY_V2, total: 0, reserved: 0, free: 0, used: 0 };
    const support = { version: CONSTANTS.NVML_GPM_SUPPORT_VERSION, isSupportedDevice: 0 };
    const mig = [0];
    const pending = [0];
    out.push({
      index,
      handle,
      name: str('name'),
      uuid: str('uuid'),
      memTotalMib: Number(c.memory?.(handle, mem)) === NVML_SUCCESS ? Number(mem.total) / MIB : null,
      gpm: Number(c.gpmSupport?.(handle, support)) === NVML_SUCCESS && support.isSupportedDevice === 1,
      migMode: Number(c.migMode?.(handle, mig, pending)) === NVML_SUCCESS ? (mig[0] === 1 ? 'Enabled' : 'Disabled') : null,
    });
  }
  return out;
}
