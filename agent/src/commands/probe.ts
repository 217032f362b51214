import { probe, resolveNvidiaSmi } from '../probe.js';
import { nvmlProbe, openNvml } from '../sampling.js';
import { parseFlags } from '@stagewatch/shared';
import { threadCpuSource } from '../procfs/threads.js';

export async function probeCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { json: { type: 'boolean' } });
  const r = await probe({ smiPath: await resolveNvidiaSmi() });
  // The NVML fast path, where the library loads; the GPU list then comes from it.
  const opened = openNvml();
  if ('api' in opened) {
    const fast = nvmlProbe(opened.api.version, opened.devices, opened.api);
    r.nvml = fast.nvml;
    if (fast.gpus.length > 0) Object.assign(r, { gpus: fast.gpus, gpm: fast.gpm, gpmIds: fast.gpmIds, gpmError: null, backend: 'nvml', gpuCaps: fast.gpuCaps, perProcess: fast.perProcess });
  } else {
    r.nvml = { loaded: false, driverVersion: null, error: opened.error };
  }
  r.backend ??= r.nvidiaSmi.error ? 'none' : 'nvidia-smi';
  r.perProcess ??= { threads: threadCpuSource(), gpu: false, gpuProcessesListed: 0, gpuError: `needs NVML (${r.nvml?.error ?? 'not loaded'})` };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const lines = [
    `host      ${r.host.hostname}: ${r.host.cpus} CPUs, ${r.host.memTotalMib} MiB`,
    `nvidia-smi ${r.nvidiaSmi.path ?? '-'} ${r.nvidiaSmi.version ?? ''}${r.nvidiaSmi.error ? ` ERROR: ${r.nvidiaSmi.error}` : ''}`,
    ...r.gpus.map((g) => `GPU ${g.index}     ${g.name} ${g.uuid} ${g.memTotalMib ?? '?'} MiB, MIG ${g.migMode ?? 'n/a'}`),
    `NVML      ${r.nvml?.loaded ? `loaded (driver ${r.nvml.driverVersion})` : `not loaded: ${r.nvml?.error ?? '?'}`}; GPU backend: ${r.backend}`,
    `GPM       ${r.gpm ? `yes (metrics ${r.gpmIds.join(',')})` : `no${r.gpmError ? ` (${r.gpmError})` : ''}`}`,
    `fields    ${r.fields.supported.length} supported${r.fields.unsupported.length ? `; unsupported: ${r.fields.unsupported.join(', ')}` : ''}`,
    ...(r.gpuCaps ?? []).map(
      (c) =>
        `GPU ${c.index} caps  GPM ${c.gpm ? 'yes' : 'no'}; utilization ${c.utilSamples ? 'with NVML sample times' : 'as read'}; NVLink ${c.nvlinkActiveLinks ?? 'n/a'} active${c.nvlinkCapacityMibps !== null ? ` (${c.nvlinkCapacityMibps} MiB/s)` : ''}; PCIe ${c.pcieCapacityMibps ?? '?'} MiB/s; link rates from ${c.linkRates}`,
    ),
    ...(r.perProcess ? [`processes busiest thread from ${r.perProcess.threads}; GPU per process ${r.perProcess.gpu ? `yes (${r.perProcess.gpuProcessesListed} listed now)` : `no (${r.perProcess.gpuError})`}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
