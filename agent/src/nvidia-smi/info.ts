/** Parsers for nvidia-smi's one-shot outputs: version, GPU list, XML, process views. */

/** `NVIDIA-SMI version : 580.159.04` (r550+) or the banner's `NVIDIA-SMI 535.54.03` (older). */
export function parseVersion(text: string): string | null {
  const m = /NVIDIA-SMI version\s*:\s*(\S+)/.exec(text) ?? /NVIDIA-SMI\s+(\d+(?:\.\d+)+)/.exec(text);
  return m ? (m[1] as string) : null;
}

export interface ListedGpu {
  index: number;
  name: string;
  uuid: string;
}

/** `nvidia-smi -L`: `GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)`; MIG device lines are indented and skipped. */
export function parseGpuList(text: string): ListedGpu[] {
  const gpus: ListedGpu[] = [];
  for (const m of text.matchAll(/^GPU (\d+): (.+) \(UUID: (GPU-[0-9a-fA-F-]+)\)\s*$/gm)) {
    gpus.push({ index: Number(m[1]), name: m[2] as string, uuid: m[3] as string });
  }
  return gpus;
}

export interface XmlGpu {
  uuid: string;
  name: string;
  architecture: string | null;
  migMode: string | null;
  memTotalMib: number | null;
  memUsedMib: number | null;
}

/**
 * `nvidia-smi -q -x`. The document is flat and machine-written, so a tag scan is enough; a full
 * XML parser would be a dependency for four fields.
 */
export function parseQueryXml(xml: string): { driverVersion: string | null; gpus: XmlGpu[] } {
  const driverVersion = tag(xml, 'driver_version');
  const gpus: XmlGpu[] = [];
  for (const m of xml.matchAll(/<gpu id="[^"]*">([\s\S]*?)<\/gpu>/g)) {
    const body = m[1] as string;
    const fb = /<fb_memory_usage>([\s\S]*?)<\/fb_memory_usage>/.exec(body)?.[1] ?? '';
    gpus.push({
      uuid: tag(body, 'uuid') ?? '',
      name: tag(body, 'product_name') ?? '',
      architecture: tag(body, 'product_architecture'),
      migMode: tag(/<mig_mode>([\s\S]*?)<\/mig_mode>/.exec(body)?.[1] ?? '', 'current_mig'),
      memTotalMib: mib(tag(fb, 'total')),
      memUsedMib: mib(tag(fb, 'used')),
    });
  }
  return { driverVersion, gpus };
}

export function tag(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? (m[1] as string).trim() : null;
}

function mib(v: string | null): number | null {
  const m = v ? /^(\d+(?:\.\d+)?) MiB$/.exec(v) : null;
  return m ? Number(m[1]) : null;
}

export interface GpuProcess {
  gpu: number;
  pid: number;
  type: string;
  command: string;
}

/** `nvidia-smi pmon`: rows of `-` mean no process in that sample. */
export function parsePmon(text: string): GpuProcess[] {
  const out: GpuProcess[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const c = line.trim().split(/\s+/);
    if (c.length < 4 || !/^\d+$/.test(c[1] as string)) continue;
    out.push({ gpu: Number(c[0]), pid: Number(c[1]), type: c[2] as string, command: c[c.length - 1] as string });
  }
  return out;
}

export interface ComputeApp {
  pid: number;
  processName: string;
  usedMib: number | null;
  gpuUuid: string;
}

/** `--query-compute-apps=pid,process_name,used_memory,gpu_uuid --format=csv` (with header). */
export function parseComputeApps(text: string): ComputeApp[] {
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(',').map((c) => c.trim()))
    .filter((c) => c.length === 4 && /^\d+$/.test(c[0] as string))
    .map(([pid, processName, used, gpuUuid]) => ({
      pid: Number(pid),
      processName: processName as string,
      usedMib: /^\d+/.test(used as string) ? parseInt(used as string, 10) : null,
      gpuUuid: gpuUuid as string,
    }));
}
