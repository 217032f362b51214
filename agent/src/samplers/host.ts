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
/**
 * Memory, load, disk and network change slowly next to CPU and cost three more /proc reads a tick
 * (with their parsing, about a third of the host sampler's CPU at 10 Hz): they are read once a
 * second into a host sample of their own, whose dur_ms says the second it covers.
 */
export const HOST_SLOW_MS = 1000;

interface SlowReading {
  at: number;
  disk: { readBytes: number; writeBytes: number };
  net: { rxBytes: number; txBytes: number };
}

/**
 * Host CPU (all and per core) every interval, and memory, load, disk and network every
 * HOST_SLOW_MS, from /proc. Each sample's dur_ms is the time since the reading it is a delta to.
 */
export class HostSampler extends IntervalSampler {
  readonly name = 'host.procfs';
  private prevCpu: { at: number; all: CpuTimes; cores: CpuTimes[] } | null = null;
  private prevSlow: SlowReading | null = null;
  private readonly files = new ProcFiles();
  private coreKeys: string[] = [];
  private readonly slowMs: number;

  constructor(
    ctx: SamplerContext,
    intervalMs: number,
    private readonly procRoot = '/proc',
  ) {
    super(ctx, intervalMs);
    this.slowMs = Math.max(HOST_SLOW_MS, intervalMs);
  }

  protected override release(): void {
    this.files.close();
  }

  protected sampleOnce(emit: Emit): void {
    const now = Date.now();
    const cpu = parseProcStatCpu(this.files.read(`${this.procRoot}/stat`));
    const prev = this.prevCpu;
    this.prevCpu = { at: now, all: cpu.all, cores: cpu.cores };
    if (prev) {
      const m: Record<string, number> = {};
      const all = busyPct(prev.all, cpu.all);
      if (all !== null) m.cpu_pct = round(all);
      let coreMax = -1;
      for (let i = 0; i < cpu.cores.length; i++) {
        const p = prev.cores[i];
        const c = cpu.cores[i];
        const pct = p && c ? busyPct(p, c) : null;
        if (pct === null) continue;
        m[(this.coreKeys[i] ??= hostCoreMetric(i))] = round(pct);
        if (pct > coreMax) coreMax = pct;
      }
      if (coreMax >= 0) m.cpu_core_max_pct = round(coreMax);
      this.samples++;
      emit({ t: now, host: this.ctx.host, source: 'host', dur_ms: now - prev.at, m });
    }
    // Half a tick early counts as due, so timer jitter does not push the slow reading a tick late.
    if (!this.prevSlow || now - this.prevSlow.at >= this.slowMs - this.intervalMs / 2) this.sampleSlow(now, emit);
  }

  private sampleSlow(now: number, emit: Emit): void {
    const read = (f: string): string => this.files.read(`${this.procRoot}/${f}`);
    const cur: SlowReading = { at: now, disk: parseDiskstats(read('diskstats')), net: parseNetDev(read('net/dev')) };
    const prev = this.prevSlow;
    this.prevSlow = cur;
    if (!prev) return; // rates need two readings
    const mem = parseMeminfo(read('meminfo'));
    const dt = (now - prev.at) / 1000;
    const rate = (cur: number, before: number): number => round(Math.max(0, cur - before) / MIB / dt);
    emit({
      t: now,
      host: this.ctx.host,
      source: 'host',
      dur_ms: now - prev.at,
      m: {
        load1: parseLoadavg(read('loadavg')),
        mem_used_mib: round(mem.totalMib - mem.availableMib),
        mem_available_mib: round(mem.availableMib),
        disk_read_mibps: rate(cur.disk.readBytes, prev.disk.readBytes),
        disk_write_mibps: rate(cur.disk.writeBytes, prev.disk.writeBytes),
        net_rx_mibps: rate(cur.net.rxBytes, prev.net.rxBytes),
        net_tx_mibps: rate(cur.net.txBytes, prev.net.txBytes),
      },
    });
  }
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
