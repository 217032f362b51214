import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countNumaNodes, gpuFromQueryXml, hostFromSi, loadFingerprintFile, type SiRaw } from './index.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const fixture = (f: string): string => readFileSync(path.join(ROOT, 'test', 'fixtures', f), 'utf8');
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-fp-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('host fingerprint from systeminformation', () => {
  it('maps the development machine\'s captured answers; what it hides (0, "") is unknown, not zero', () => {
    const raw = JSON.parse(fixture('fingerprints/devbox-si.json')) as SiRaw;
    expect(hostFromSi(raw, 1)).toEqual({
      cpu: { model: 'AMD EPYC', sockets: 1, cores: 2, threads: 2, baseGhz: null, maxGhz: null },
      memory: { totalMib: 24106, speedMts: null, type: null },
      disks: [],
      numaNodes: 1,
      os: { distro: 'Debian GNU/Linux 12', kernel: '6.18.44-fc-v595' },
      virtual: true,
    });
  });

  it('takes the slowest DIMM\'s speed, names NVMe disks as such, and sizes disks in GiB', () => {
    const raw = JSON.parse(fixture('fingerprints/devbox-si.json')) as SiRaw;
    const h = hostFromSi(
      {
        ...raw,
        memLayout: [
          { size: 32 * 2 ** 30, type: 'DDR5', clockSpeed: 4800 },
          { size: 32 * 2 ** 30, type: 'DDR5', clockSpeed: 5600 },
          { size: 0, type: '', clockSpeed: 0 },
        ],
        diskLayout: [
          { device: '/dev/nvme0n1', name: 'SAMSUNG MZQL23T8HCLS', type: 'SSD', size: 3.84e12, interfaceType: 'PCIe' },
          { device: '/dev/sda', name: 'ST4000NM000A', type: 'HD', size: 4e12, interfaceType: 'SATA' },
        ],
      },
      2,
    );
    expect(h.memory).toEqual({ totalMib: 24106, speedMts: 4800, type: 'DDR5' });
    expect(h.disks).toEqual([
      { name: '/dev/nvme0n1', model: 'SAMSUNG MZQL23T8HCLS', type: 'NVMe', sizeGib: 3576.3 },
      { name: '/dev/sda', model: 'ST4000NM000A', type: 'HD', sizeGib: 3725.3 },
    ]);
  });

  it('counts NUMA nodes in sysfs, and says null where there is no such directory', () => {
    const d = tmp();
    for (const n of ['node0', 'node1', 'possible', 'online']) mkdirSync(path.join(d, n));
    expect(countNumaNodes(d)).toBe(2);
    expect(countNumaNodes(path.join(d, 'absent'))).toBeNull();
  });
});

describe('GPU part from nvidia-smi -q -x', () => {
  it('reads driver, CUDA and the PCIe link of the captured H100 (idle and under load)', () => {
    for (const f of ['q.xml', 'q-under-load.xml']) {
      expect(gpuFromQueryXml(fixture(`h100-staged/${f}`))).toEqual({
        driverVersion: '580.159.04',
        cudaVersion: '13.0',
        gpus: [{ index: 0, name: 'NVIDIA H100 80GB HBM3', busId: '00000000:00:06.0', pcieGenMax: 5, pcieWidthMax: 16, pcieGenCurrent: 5, pcieWidthCurrent: 16 }],
      });
    }
  });
});

describe('--fingerprint-file', () => {
  it('reads what test/gpu/fingerprint.mjs wrote', () => {
    expect(loadFingerprintFile(path.join(ROOT, 'test', 'fixtures', 'fingerprints', 'h100-staged.json')).gpus[0]?.name).toBe('NVIDIA H100 80GB HBM3');
  });

  it('names the file and the field that is wrong', () => {
    const f = path.join(tmp(), 'fp.json');
    writeFileSync(f, JSON.stringify({ fingerprint: { readAt: 1 } }));
    expect(() => loadFingerprintFile(f)).toThrow(/--fingerprint-file .*fp\.json: cpu: /);
    expect(() => loadFingerprintFile(path.join(tmp(), 'none.json'))).toThrow(/none\.json: no such file/);
  });
});
