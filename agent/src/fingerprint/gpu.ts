import type { HostFingerprint } from '@stagewatch/shared';
import { tag } from '../nvidia-smi/info.js';

type GpuPart = Pick<HostFingerprint, 'driverVersion' | 'cudaVersion' | 'gpus'>;

const int = (v: string | null): number | null => {
  const n = v === null ? NaN : Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : null;
};

/**
 * Driver, CUDA and each GPU's PCIe link from `nvidia-smi -q -x` (read once at start). A tag scan,
 * with tag() (see there for why a scan is enough).
 */
export function gpuFromQueryXml(xml: string): GpuPart {
  const gpus: GpuPart['gpus'] = [];
  let index = 0;
  for (const m of xml.matchAll(/<gpu id="([^"]*)">([\s\S]*?)<\/gpu>/g)) {
    const body = m[2] as string;
    const gen = /<pcie_gen>([\s\S]*?)<\/pcie_gen>/.exec(body)?.[1] ?? '';
    const width = /<link_widths>([\s\S]*?)<\/link_widths>/.exec(body)?.[1] ?? '';
    gpus.push({
      index: index++,
      name: tag(body, 'product_name') ?? '',
      busId: tag(body, 'pci_bus_id') ?? (m[1] as string),
      pcieGenMax: int(tag(gen, 'max_link_gen')),
      pcieWidthMax: int(tag(width, 'max_link_width')),
      pcieGenCurrent: int(tag(gen, 'current_link_gen')),
      pcieWidthCurrent: int(tag(width, 'current_link_width')),
    });
  }
  return { driverVersion: tag(xml, 'driver_version'), cudaVersion: tag(xml, 'cuda_version'), gpus };
}
