import { hostCoreMetric } from '@stagewatch/shared';
import {
  busyPct,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStatCpu,
  type CpuTimes,
} from '../procfs/host.js';
import { ProcFiles } from '../procfs/reader.js';
import { IntervalSampler } from './interval.js';
import type { Emit, SamplerContext } from './types.js';

const MIB = 1024 * 1024;

interface Reading {
  at: number;
  cpu: { all: CpuTimes; cores: CpuTimes[] };
  disk: { readBytes: number; writeBytes: number };
  net: { rxBytes: number; txBytes: number };
}

/** Host CPU (all and per core), load, memory, disk and network rates from /proc, every interval. */
export class HostSampler extends IntervalSampler {
  readonly name = 'host.procfs';
  private prev: Reading | null = null;
  private readonly files = new ProcFiles();

  constructor(
    ctx: SamplerContext,
    intervalMs: number,
    private readonly procRoot = '/proc',
  ) {
    super(ctx, intervalMs);
  }

  protected override release(): void {
    this.files.close();
  }

  protected sampleOnce(emit: Emit): void {
    const [stat, meminfo, diskstats, netdev, loadavg] = ['stat', 'meminfo', 'diskstats', 'net/dev', 'loadavg'].map((f) => this.files.read(`${this.procRoot}/${f}`));
    const now = Date.now();
    const cur: Reading = {
      at: now,
      cpu: parseProcStatCpu(stat as string),
      disk: parseDiskstats(diskstats as string),
      net: parseNetDev(netdev as string),
    };
    const mem = parseMeminfo(meminfo as string);
    const prev = this.prev;
    this.prev = cur;
    if (!prev) return; // rates need two readings
    const dt = (now - prev.at) / 1000;
    const m: Record<string, number> = {
      load1: parseLoadavg(loadavg as string),
      mem_used_mib: round(mem.totalMib - mem.availableMib),
      mem_available_mib: round(mem.availableMib),
      disk_read_mibps: round(Math.max(0, cur.disk.readBytes - prev.disk.readBytes) / MIB / dt),
      disk_write_mibps: round(Math.max(0, cur.disk.writeBytes - prev.disk.writeBytes) / MIB / dt),
      net_rx_mibps: round(Math.max(0, cur.net.rxBytes - prev.net.rxBytes) / MIB / dt),
      net_tx_mibps: round(Math.max(0, cur.net.txBytes - prev.net.txBytes) / MIB / dt),
    };
    const all = busyPct(prev.cpu.all, cur.cpu.all);
    if (all !== null) m.cpu_pct = round(all);
    let coreMax: number | null = null;
    cur.cpu.cores.forEach((c, i) => {
      const p = prev.cpu.cores[i];
      const pct = p && c ? busyPct(p, c) : null;
      if (pct === null) return;
      m[hostCoreMetric(i)] = round(pct);
      coreMax = Math.max(coreMax ?? 0, pct);
    });
    if (coreMax !== null) m.cpu_core_max_pct = round(coreMax);
    this.samples++;
    emit({ t: now, host: this.ctx.host, source: 'host', m });
  }
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
