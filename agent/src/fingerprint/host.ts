import { readdirSync } from 'node:fs';
import type { HostFingerprint } from '@stagewatch/shared';

/** The parts of systeminformation's answers the fingerprint uses (its own types, narrowed). */
export interface SiRaw {
  cpu: { manufacturer: string; brand: string; speed: number; speedMax: number; cores: number; physicalCores: number; processors: number } | null;
  mem: { total: number } | null;
  memLayout: Array<{ size: number; type: string; clockSpeed: number | null }> | null;
  diskLayout: Array<{ device: string; name: string; type: string; size: number; interfaceType: string }> | null;
  osInfo: { distro: string; release: string; kernel: string } | null;
  system: { virtual: boolean; model: string } | null;
}

type HostPart = Pick<HostFingerprint, 'cpu' | 'memory' | 'disks' | 'numaNodes' | 'os' | 'virtual'>;

const MIB = 1024 * 1024;
/** systeminformation reports what it cannot read as 0 or "": unknown, not zero. */
const known = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) || v <= 0 ? null : v);
const text = (v: string | null | undefined): string | null => (v && v.trim() !== '' && v.trim() !== '-' ? v.trim() : null);

/** The host half of a fingerprint from systeminformation's answers: pure, so a captured answer tests it. */
export function hostFromSi(raw: SiRaw, numaNodes: number | null): HostPart {
  const c = raw.cpu;
  const model = c ? text([c.manufacturer, c.brand].filter((x) => text(x) !== null).join(' ')) : null;
  const dimms = (raw.memLayout ?? []).filter((d) => known(d.size) !== null);
  const speeds = dimms.map((d) => known(d.clockSpeed)).filter((v): v is number => v !== null);
  const types = [...new Set(dimms.map((d) => text(d.type)).filter((v): v is string => v !== null))];
  return {
    cpu: {
      model,
      sockets: c ? known(c.processors) : null,
      cores: c ? known(c.physicalCores) : null,
      threads: c ? known(c.cores) : null,
      baseGhz: c ? known(c.speed) : null,
      maxGhz: c ? known(c.speedMax) : null,
    },
    memory: {
      totalMib: raw.mem ? known(Math.round(raw.mem.total / MIB)) : null,
      // Mixed DIMMs run at the slowest one's speed.
      speedMts: speeds.length > 0 ? Math.min(...speeds) : null,
      type: types.length > 0 ? types.join('/') : null,
    },
    disks: (raw.diskLayout ?? []).slice(0, 64).map((d) => ({
      name: text(d.device) ?? text(d.name) ?? '?',
      model: text(d.name),
      // "NVMe" says more than "SSD" where the interface shows it.
      type: text(d.interfaceType) === 'PCIe' || /nvme/i.test(d.device) ? 'NVMe' : text(d.type),
      sizeGib: known(d.size) === null ? null : Math.round((d.size / 1024 ** 3) * 10) / 10,
    })),
    numaNodes,
    os: { distro: raw.osInfo ? text(`${raw.osInfo.distro} ${raw.osInfo.release}`) : null, kernel: raw.osInfo ? text(raw.osInfo.kernel) : null },
    virtual: raw.system ? raw.system.virtual : null,
  };
}

/** NUMA nodes the kernel shows (systeminformation does not count them); null where sysfs has none. */
export function countNumaNodes(dir = '/sys/devices/system/node'): number | null {
  try {
    const n = readdirSync(dir).filter((f) => /^node\d+$/.test(f)).length;
    return n > 0 ? n : null;
  } catch {
    return null;
  }
}
