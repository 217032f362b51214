/**
 * Pure parsers for the /proc files behind host metrics. systeminformation reads the same data
 * but spawns `cat`/`lsblk` shells on every call, which at 10 Hz would cost more CPU than the
 * benchmark can spare; reading the files ourselves is a few syscalls.
 */

export interface CpuTimes {
  busy: number;
  total: number;
}

/**
 * `/proc/stat` cpu lines: `cpu` (all) and `cpuN`. iowait counts as idle, as top does. The cpu lines
 * come first; scanning stops at the first other line, so the long `intr` line is never split, and
 * numbers are read from char codes (this runs every tick; a regex and split per line cost several
 * times more, and the garbage they leave makes GC run).
 */
export function parseProcStatCpu(text: string): { all: CpuTimes; cores: CpuTimes[] } {
  let all: CpuTimes = { busy: 0, total: 0 };
  const cores: CpuTimes[] = [];
  const n = text.length;
  let i = 0;
  while (i + 3 < n && text.charCodeAt(i) === 99 /* c */ && text.startsWith('cpu', i)) {
    i += 3;
    let core = -1;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) core = (core < 0 ? 0 : core * 10) + c - 48;
    // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
    let total = 0;
    let idle = 0;
    for (let field = 0; field < 10; field++) {
      while (text.charCodeAt(i) === 32) i++;
      let c = text.charCodeAt(i);
      if (!(c >= 48 && c <= 57)) break;
      let v = 0;
      for (; c >= 48 && c <= 57; c = text.charCodeAt(++i)) v = v * 10 + c - 48;
      if (field < 8) total += v;
      if (field === 3 || field === 4) idle += v;
    }
    const t = { busy: total - idle, total };
    if (core < 0) all = t;
    else cores[core] = t;
    const eol = text.indexOf('\n', i);
    if (eol < 0) break;
    i = eol + 1;
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
