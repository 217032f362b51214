import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import si from 'systeminformation';
import { errorMessage, type HostFingerprint, HostFingerprintSchema, UsageError } from '@stagewatch/shared';
import { countNumaNodes, hostFromSi, type SiRaw } from './host.js';
import { gpuFromQueryXml } from './gpu.js';

export { gpuFromQueryXml } from './gpu.js';
export { countNumaNodes, hostFromSi, type SiRaw } from './host.js';

/** One systeminformation call, or null (and a note) when it fails or takes longer than timeoutMs. */
async function guarded<T>(what: string, p: () => Promise<T>, timeoutMs: number, notes: string[]): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    notes.push(`${what}: ${errorMessage(e)}`);
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** systeminformation's raw answers (what test/gpu/fingerprint.mjs saves beside the fingerprint). */
export async function readSiRaw(timeoutMs: number, notes: string[]): Promise<SiRaw> {
  const [cpu, mem, memLayout, diskLayout, osInfo, system] = await Promise.all([
    guarded('cpu', () => si.cpu(), timeoutMs, notes),
    guarded('memory', () => si.mem(), timeoutMs, notes),
    guarded('memory layout', () => si.memLayout(), timeoutMs, notes),
    guarded('disks', () => si.diskLayout(), timeoutMs, notes),
    guarded('os', () => si.osInfo(), timeoutMs, notes),
    guarded('system', () => si.system(), timeoutMs, notes),
  ]);
  return { cpu, mem, memLayout, diskLayout, osInfo, system };
}

export interface FingerprintOptions {
  /** nvidia-smi for the driver, CUDA and PCIe links; null where there is none. */
  smiPath: string | null;
  /** What the GPU sampler already knows (names, driver), used where nvidia-smi cannot answer. */
  gpus?: ReadonlyArray<{ index: number; name: string }>;
  driverVersion?: string | null;
  timeoutMs?: number;
}

/**
 * Reads this host's fingerprint once. Never throws: what cannot be read is null and `notes` says
 * why. Costs a few hundred ms of subprocesses (lscpu, lsblk, dmidecode where present, one
 * `nvidia-smi -q -x`), which is why it is read at start and never per sample.
 */
export async function readFingerprint(opts: FingerprintOptions): Promise<HostFingerprint> {
  return (await readFingerprintWithRaw(opts)).fingerprint;
}

/** The fingerprint and the raw answers it came from (`probe --fingerprint` prints both, to check the mapping). */
export async function readFingerprintWithRaw(opts: FingerprintOptions): Promise<{ fingerprint: HostFingerprint; raw: { si: SiRaw; queryXml: string | null } }> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const notes: string[] = [];
  const readAt = Date.now();
  const [raw, xml] = await Promise.all([readSiRaw(timeoutMs, notes), readQueryXml(opts.smiPath, timeoutMs, notes)]);
  const host = hostFromSi(raw, countNumaNodes());
  const gpu = xml !== null ? gpuFromQueryXml(xml) : null;
  const fp: HostFingerprint = {
    readAt,
    ...host,
    driverVersion: gpu?.driverVersion ?? opts.driverVersion ?? null,
    cudaVersion: gpu?.cudaVersion ?? null,
    gpus:
      gpu && gpu.gpus.length > 0
        ? gpu.gpus
        : (opts.gpus ?? []).map((g) => ({ index: g.index, name: g.name, busId: null, pcieGenMax: null, pcieWidthMax: null, pcieGenCurrent: null, pcieWidthCurrent: null })),
    notes: notes.slice(0, 16),
  };
  return { fingerprint: HostFingerprintSchema.parse(fp), raw: { si: raw, queryXml: xml } };
}

async function readQueryXml(smiPath: string | null, timeoutMs: number, notes: string[]): Promise<string | null> {
  if (!smiPath) {
    notes.push('nvidia-smi not found: driver, CUDA version and PCIe links unknown');
    return null;
  }
  const r = await execa(smiPath, ['-q', '-x'], { reject: false, timeout: timeoutMs, stdin: 'ignore' });
  if (r.exitCode === 0 && !r.failed) return String(r.stdout);
  notes.push(`nvidia-smi -q -x: ${r.timedOut ? `no answer in ${timeoutMs} ms` : String(r.stdout || r.stderr || r.message).split('\n')[0]?.slice(0, 200)}`);
  return null;
}

/** `--fingerprint-file`: a fingerprint saved earlier (test/gpu/fingerprint.mjs), announced instead of this host's. */
export function loadFingerprintFile(file: string): HostFingerprint {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--fingerprint-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  // The file test/gpu/fingerprint.mjs writes holds the fingerprint under "fingerprint", beside the raw answers.
  const body = raw !== null && typeof raw === 'object' && 'fingerprint' in raw ? (raw as { fingerprint: unknown }).fingerprint : raw;
  const p = HostFingerprintSchema.safeParse(body);
  if (!p.success) {
    const i = p.error.issues[0];
    throw new UsageError(`--fingerprint-file ${file}: ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  return p.data;
}
