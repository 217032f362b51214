/**
 * Pure parsers for the /proc files behind host metrics. systeminformation reads the same data
 * but spawns `cat`/`lsblk` shells on every call, which at 10 Hz would cost more CPU than the
 * benchmark can spare; reading the files ourselves is a few syscalls.
 */

export interface CpuTimes {
  busy: number;
  total: number;
}

/** `/proc/stat` cpu lines: `cpu` (all) and `cpuN`. iowait counts as idle, as top does. */
export function parseProcStatCpu(text: string): { all: CpuTimes; cores: CpuTimes[] } {
  let all: CpuTimes = { busy: 0, total: 0 };
  const cores: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = (m[2] as string).trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
    const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const t = { busy: total - idle, total };
    if (m[1] === '') all = t;
    else cores[Number(m[1])] = t;
  }
  return { all, cores };
}

/** Busy share between two readings, in percent; null when no time passed. */
export function busyPct(prev: CpuTimes, cur: CpuTimes): number | null {
  const dt = cur.total - prev.total;
  if (dt <= 0) return null;
  return Math.min(100, Math.max(0, (100 * (cur.busy - prev.busy)) / dt));
}

/** `/proc/meminfo` in MiB. */
export function parseMeminfo(text: string): { totalMib: number; availableMib: number } {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/meminfo has no ${key}`);
    return Number(m[1]);
  };
  return { totalMib: kb('MemTotal') / 1024, availableMib: kb('MemAvailable') / 1024 };
}

// Partitions and stacked devices would count the same bytes twice.
const NOT_A_WHOLE_DISK = /^(loop|ram|zram|dm-|md|sr|fd)\d*|^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$|^(nvme\d+n\d+|mmcblk\d+)p\d+$/;

/** `/proc/diskstats`: bytes read and written on whole disks (sectors are 512 bytes there). */
export function parseDiskstats(text: string): { readBytes: number; writeBytes: number } {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    const c = line.trim().split(/\s+/);
    const name = c[2];
    if (c.length < 10 || name === undefined || NOT_A_WHOLE_DISK.test(name)) continue;
    readBytes += Number(c[5]) * 512;
    writeBytes += Number(c[9]) * 512;
  }
  return { readBytes, writeBytes };
}

/** `/proc/net/dev`: bytes received and sent on every interface but loopback. */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const c = (m[2] as string).trim().split(/\s+/).map(Number);
    rxBytes += c[0] ?? 0;
    txBytes += c[8] ?? 0;
  }
  return { rxBytes, txBytes };
}

export function parseLoadavg(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v)) throw new Error(`unreadable /proc/loadavg: ${JSON.stringify(text.slice(0, 40))}`);
  return v;
}
