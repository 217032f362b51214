import { readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { busyPct, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStatCpu } from './host.js';

const proc = (f: string): string => readFileSync(`/proc/${f}`, 'utf8');

describe('host /proc parsers on this machine\'s real /proc', () => {
  it('reads the all-CPU line and one line per core', () => {
    const s = parseProcStatCpu(proc('stat'));
    expect(s.cores).toHaveLength(os.cpus().length);
    expect(s.all.total).toBeGreaterThan(0);
    const sum = s.cores.reduce((a, c) => a + c.total, 0);
    // The all line is the sum of the core lines, to within the kernel's per-core rounding.
    expect(Math.abs(sum - s.all.total) / s.all.total).toBeLessThan(0.001);
  });

  it('reads memory in MiB', () => {
    const m = parseMeminfo(proc('meminfo'));
    expect(m.totalMib).toBeCloseTo(os.totalmem() / 1048576, -1);
    expect(m.availableMib).toBeGreaterThan(0);
    expect(m.availableMib).toBeLessThanOrEqual(m.totalMib);
    expect(() => parseMeminfo('MemTotal: 1 kB\n')).toThrow(/MemAvailable/);
  });

  it('reads disks, network and load', () => {
    expect(parseDiskstats(proc('diskstats')).readBytes).toBeGreaterThanOrEqual(0);
    expect(parseNetDev(proc('net/dev')).rxBytes).toBeGreaterThanOrEqual(0);
    expect(parseLoadavg(proc('loadavg'))).toBeCloseTo(os.loadavg()[0] as number, 1);
  });
});

describe('host /proc parsers on edge cases', () => {
  it('counts iowait as idle and clamps busy to 0..100', () => {
    const a = parseProcStatCpu('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800 0 0 0 0 0 0\n');
    const b = parseProcStatCpu('cpu  200 0 100 850 50 0 0 0 0 0\ncpu0 200 0 100 850 50 0 0 0 0 0\n');
    expect(busyPct(a.all, b.all)).toBeCloseTo(50);
    expect(busyPct(b.all, b.all)).toBeNull();
  });

  it('counts whole disks only, not partitions, loop or device-mapper devices', () => {
    const text = [
      ' 259       0 nvme0n1 10 0 8 0 20 0 16 0 0 0 0',
      ' 259       1 nvme0n1p1 10 0 8 0 20 0 16 0 0 0 0',
      '   8       0 sda 1 0 2 0 1 0 4 0 0 0 0',
      '   8       1 sda1 1 0 2 0 1 0 4 0 0 0 0',
      '   7       0 loop0 1 0 100 0 0 0 0 0 0 0 0',
      ' 253       0 dm-0 1 0 100 0 0 0 100 0 0 0 0',
    ].join('\n');
    expect(parseDiskstats(text)).toEqual({ readBytes: (8 + 2) * 512, writeBytes: (16 + 4) * 512 });
  });

  it('leaves loopback out of network rates', () => {
    const text = `Inter-|   Receive |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 5000 1 0 0 0 0 0 0 5000 1 0 0 0 0 0 0
  eth0: 1000 2 0 0 0 0 0 0 300 3 0 0 0 0 0 0
`;
    expect(parseNetDev(text)).toEqual({ rxBytes: 1000, txBytes: 300 });
  });
});
