import type { HostFingerprint, WorkloadRuntime } from '@stagewatch/shared';

/**
 * A host's fingerprint in one line for report headers and the UI: what was read, "?" for what
 * the host did not show. Pure and free of Node modules, so the browser UI uses it too.
 */
export function fingerprintText(fp: { host: HostFingerprint | null; workload: WorkloadRuntime | null }): string {
  const parts: string[] = [];
  const h = fp.host;
  const q = (v: unknown): string => (v === null || v === undefined ? '?' : String(v));
  if (h) {
    const c = h.cpu;
    parts.push(`CPU ${q(c.model)} (${q(c.sockets)} socket(s), ${q(c.cores)} cores, ${q(c.threads)} threads, base ${q(c.baseGhz)} / max ${q(c.maxGhz)} GHz)`);
    const m = h.memory;
    parts.push(`memory ${m.totalMib === null ? '?' : `${(m.totalMib / 1024).toFixed(0)} GiB`}${m.type ? ` ${m.type}` : ''}${m.speedMts ? ` ${m.speedMts} MT/s` : ''}`);
    parts.push(`disks ${h.disks.length > 0 ? h.disks.map((d) => `${d.model ?? d.name} (${q(d.type)}${d.sizeGib !== null ? `, ${d.sizeGib} GiB` : ''})`).join(', ') : '?'}`);
    parts.push(`NUMA nodes ${q(h.numaNodes)}`);
    parts.push(`driver ${q(h.driverVersion)}, CUDA ${q(h.cudaVersion)}`);
    for (const g of h.gpus) parts.push(`GPU ${g.index} PCIe gen${q(g.pcieGenMax)} x${q(g.pcieWidthMax)}${g.pcieGenCurrent !== null ? ` (at start gen${g.pcieGenCurrent} x${q(g.pcieWidthCurrent)})` : ''}`);
    if (h.os.distro || h.os.kernel) parts.push(`${q(h.os.distro)}, kernel ${q(h.os.kernel)}${h.virtual ? ', virtualized' : ''}`);
  } else {
    parts.push('host fingerprint not sent (agent before 0.2, or not yet connected)');
  }
  const w = fp.workload;
  if (w) parts.push(`Python ${q(w.python)}, torch ${q(w.torch)} (CUDA runtime ${q(w.cuda_runtime)}, ${q(w.torch_threads)} CPU threads)`);
  return parts.join(' · ');
}
