import type { ProbeResult } from '@stagewatch/shared';
import { nvlinkCapacityMibps, pcieCapacityMibps } from '@stagewatch/shared';
import { threadCpuSource } from '../procfs/threads.js';
import { NVML_SUCCESS, type NvmlApi } from './bindings.js';
import { FI } from './decode.js';
import type { NvmlDevice } from './device.js';
import { fieldValues, readNvlink } from './links.js';
import { NvmlProcesses } from './processes.js';
import { UtilSamples } from './util-samples.js';

type Caps = Pick<ProbeResult, 'gpuCaps' | 'perProcess'>;

function uint(api: NvmlApi, fn: string, handle: unknown): number | undefined {
  const out = [0];
  return Number(api.call[fn]?.(handle, out)) === NVML_SUCCESS ? (out[0] as number) : undefined;
}

/** What `probe` says NVML can give beyond the basics: one pass of each call the sampler makes. */
export function nvmlCaps(api: NvmlApi, devices: readonly NvmlDevice[]): Caps {
  const gpuCaps = devices.map((d) => {
    const util = new UtilSamples(api, d.handle);
    util.read(Date.now());
    const nvl = readNvlink(api, d.handle);
    const counters = !d.gpm && fieldValues(api, d.handle, [{ fieldId: FI.PCIE_COUNT_TX_BYTES }])?.[0]?.ret === NVML_SUCCESS;
    return {
      index: d.index,
      gpm: d.gpm,
      utilSamples: util.problem === null,
      nvlinkActiveLinks: nvl.activeLinks,
      nvlinkCapacityMibps: nvlinkCapacityMibps(nvl.activeLinks, nvl.perLinkMBps),
      pcieCapacityMibps: pcieCapacityMibps(uint(api, 'pcieGen', d.handle), uint(api, 'pcieWidth', d.handle)),
      linkRates: d.gpm ? ('gpm' as const) : counters ? ('nvml-counters' as const) : api.call.pcieThroughput ? ('nvml-throughput' as const) : ('none' as const),
    };
  });
  const procs = new NvmlProcesses(api, devices, 1000);
  procs.holders(0);
  const errors = [...procs.errors].map(([k, v]) => `${k}: ${v}`);
  return {
    gpuCaps,
    perProcess: {
      threads: threadCpuSource(),
      gpu: devices.length > 0 && errors.length === 0,
      gpuProcessesListed: procs.listed,
      gpuError: errors.length > 0 ? errors.join('; ') : devices.length === 0 ? 'no GPU' : null,
    },
  };
}
