import { describe, expect, it } from 'vitest';
import { fixture, GPM_EXTRA } from '../../../test/helpers/fixtures.js';
import { parseComputeApps, parseGpuList, parsePmon, parseQueryXml, parseVersion } from './info.js';

describe('nvidia-smi one-shot outputs', () => {
  it('reads the version', () => {
    expect(parseVersion(fixture('version.txt'))).toBe('580.159.04');
    expect(parseVersion(fixture('q.txt'))).toBeNull();
  });

  it('lists GPUs from -L on both captured machines', () => {
    expect(parseGpuList(fixture('list.txt'))).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba' },
    ]);
    expect(parseGpuList(fixture('list.txt', GPM_EXTRA))[0]?.uuid).toBe('GPU-f598008f-b903-cab2-defc-eed33a0bb39a');
  });

  it('reads -q -x idle and under load', () => {
    const idle = parseQueryXml(fixture('q.xml'));
    expect(idle.driverVersion).toBe('580.159.04');
    expect(idle.gpus).toEqual([
      {
        uuid: 'GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba',
        name: 'NVIDIA H100 80GB HBM3',
        architecture: 'Hopper',
        migMode: 'Disabled',
        memTotalMib: 81559,
        memUsedMib: 0,
      },
    ]);
    const load = parseQueryXml(fixture('q-under-load.xml'));
    expect(load.gpus[0]?.memUsedMib).toBeGreaterThan(1000);
  });

  it('finds the workload in pmon, where compute-apps lists nothing inside this VM', () => {
    expect(parsePmon(fixture('pmon.txt'))).toEqual([{ gpu: 0, pid: 1132, type: 'C', command: 'python3' }]);
    expect(parseComputeApps(fixture('compute-apps.csv'))).toEqual([]);
    expect(parseComputeApps(`${fixture('compute-apps.csv')}1132, python3, 2925 MiB, GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba\n`)).toEqual([
      { pid: 1132, processName: 'python3', usedMib: 2925, gpuUuid: 'GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba' },
    ]);
  });
});
