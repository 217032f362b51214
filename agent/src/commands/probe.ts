import { readFingerprintWithRaw } from '../fingerprint/index.js';
import { probe, resolveNvidiaSmi } from '../probe.js';
import { closeDcgm } from '../dcgm/session.js';
import { nvmlProbe, openNvml, tryDcgm } from '../sampling.js';
import { probeConfig } from '../config/config.js';
import type { Environment } from '../config/environment.js';
import { threadCpuSource } from '../procfs/threads.js';

export async function probeCommand(argv: string[], env: Environment): Promise<number> {
  const config = probeConfig(argv, env);
  const smiPath = await resolveNvidiaSmi(config.libraries);
  if (config.fingerprint) {
    // The host fingerprint as the agent sends it in its hello, with the raw answers it was read from.
    const r = await readFingerprintWithRaw({ smiPath });
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    return 0;
  }
  const r = await probe({ smiPath });
  // The NVML fast path, where the library loads; the GPU list then comes from it.
  const opened = openNvml(config.libraries.nvmlLib);
  let noGpm: number[] | undefined = r.nvidiaSmi.error ? undefined : r.gpm ? [] : r.gpus.map((g) => g.index);
  if ('api' in opened) {
    const fast = nvmlProbe(opened.api.version, opened.devices, opened.api);
    r.nvml = fast.nvml;
    if (fast.gpus.length > 0) {
      Object.assign(r, { gpus: fast.gpus, gpm: fast.gpm, gpmIds: fast.gpmIds, gpmError: null, backend: 'nvml', gpuCaps: fast.gpuCaps, perProcess: fast.perProcess });
      noGpm = opened.devices.filter((d) => !d.gpm).map((d) => d.index);
    }
  } else {
    r.nvml = { loaded: false, driverVersion: null, error: opened.error };
  }
  r.backend ??= r.nvidiaSmi.error ? 'none' : 'nvidia-smi';
  r.perProcess ??= { threads: threadCpuSource(), gpu: false, gpuProcessesListed: 0, gpuError: `needs NVML (${r.nvml?.error ?? 'not loaded'})` };
  // DCGM is opened, watched and released again: the answer is whether profiling really works here.
  const session = tryDcgm(r, noGpm, { intervalMs: 1000, libs: config.libraries.dcgmLibs, enabled: config.dcgm });
  if (session) closeDcgm(session);
  if (config.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const lines = [
    `host      ${r.host.hostname}: ${r.host.cpus} CPUs, ${r.host.memTotalMib} MiB`,
    `nvidia-smi ${r.nvidiaSmi.path ?? '-'} ${r.nvidiaSmi.version ?? ''}${r.nvidiaSmi.error ? ` ERROR: ${r.nvidiaSmi.error}` : ''}`,
    ...r.gpus.map((g) => `GPU ${g.index}     ${g.name} ${g.uuid} ${g.memTotalMib ?? '?'} MiB, MIG ${g.migMode ?? 'n/a'}`),
    `NVML      ${r.nvml?.loaded ? `loaded (driver ${r.nvml.driverVersion})` : `not loaded: ${r.nvml?.error ?? '?'}`}; GPU backend: ${r.backend}`,
    `GPM       ${r.gpm ? `yes (metrics ${r.gpmIds.join(',')})` : `no${r.gpmError ? ` (${r.gpmError})` : ''}`}`,
    `DCGM      ${r.dcgm?.active ? `profiling through ${r.dcgm.mode === 'hostengine' ? 'nv-hostengine' : 'an embedded host engine'} (${r.dcgm.lib}) on GPU(s) ${r.dcgm.gpus.join(', ')}` : `no (${r.dcgm?.error ?? '?'})`}`,
    `SM activity from ${r.smActivity ?? 'none'}`,
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
