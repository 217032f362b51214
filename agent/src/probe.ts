import { access, constants } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ProbeResult } from '@stagewatch/shared';
import { DmonParser, dmonArgs, GPM_CORE_IDS, GPM_IDS } from './nvidia-smi/dmon.js';
import { classifySmiFailure } from './nvidia-smi/errors.js';
import { DEFAULT_FIELDS } from './nvidia-smi/fields.js';
import { parseVersion } from './nvidia-smi/info.js';
import { parseHelpQuery, partitionFields } from './nvidia-smi/query.js';

/** Where the agent finds its GPU tools; the config fills it from the environment. */
export interface GpuLibraries {
  /** nvidia-smi named outright (`STAGEWATCH_NVIDIA_SMI`); else it is looked for on `searchPath`. */
  nvidiaSmi?: string;
  /** Directories to look for nvidia-smi in, `PATH`'s form. */
  searchPath: string;
  /** The NVML library to load (`STAGEWATCH_NVML_LIB`, default libnvidia-ml.so.1). */
  nvmlLib: string;
  /** The DCGM libraries to try, in order (`STAGEWATCH_DCGM_LIB`, else DCGM 4, then 3). */
  dcgmLibs: readonly string[];
}

/** The nvidia-smi to use: the one named, else the first on the search path; null if none. */
export async function resolveNvidiaSmi(libs: Pick<GpuLibraries, 'nvidiaSmi' | 'searchPath'>): Promise<string | null> {
  if (libs.nvidiaSmi) return libs.nvidiaSmi;
  for (const dir of libs.searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'nvidia-smi');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

interface RunResult {
  ok: boolean;
  out: string;
  error: string | null;
}

async function runSmi(smiPath: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const r = await execa(smiPath, args, { reject: false, timeout: timeoutMs, all: true, stdin: 'ignore' });
  const out = String(r.all ?? '');
  if (r.timedOut) return { ok: false, out, error: `nvidia-smi ${args[0]} timed out after ${timeoutMs} ms` };
  if (r.exitCode === 0 && !r.failed) return { ok: true, out, error: null };
  const code = typeof (r as { code?: unknown }).code === 'string' ? (r as { code: string }).code : undefined;
  return { ok: false, out, error: classifySmiFailure(out, r.exitCode ?? null, code).message };
}

export interface ProbeOptions {
  smiPath: string | null;
  wantedFields?: readonly string[];
  timeoutMs?: number;
}

/** What this host can sample: nvidia-smi, its GPUs, valid fields, GPM, and the host itself. */
export async function probe(opts: ProbeOptions): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const wanted = opts.wantedFields ?? DEFAULT_FIELDS;
  const result: ProbeResult = {
    nvidiaSmi: { path: opts.smiPath, version: null, error: null },
    gpus: [],
    gpm: false,
    gpmIds: [],
    gpmError: null,
    fields: { supported: [], unsupported: [] },
    host: { hostname: os.hostname(), cpus: os.cpus().length, memTotalMib: Math.round(os.totalmem() / 1048576) },
  };
  if (!opts.smiPath) {
    result.nvidiaSmi.error = 'nvidia-smi not found on PATH (set STAGEWATCH_NVIDIA_SMI to its path)';
    return result;
  }
  const version = await runSmi(opts.smiPath, ['--version'], timeoutMs);
  if (!version.ok) {
    result.nvidiaSmi.error = version.error;
    return result;
  }
  result.nvidiaSmi.version = parseVersion(version.out);
  const help = await runSmi(opts.smiPath, ['--help-query-gpu'], timeoutMs);
  if (!help.ok) {
    result.nvidiaSmi.error = help.error;
    return result;
  }
  result.fields = partitionFields(wanted, parseHelpQuery(help.out));
  const list = await runSmi(
    opts.smiPath,
    ['--query-gpu=index,uuid,name,memory.total,mig.mode.current', '--format=csv,noheader,nounits'],
    timeoutMs,
  );
  if (!list.ok) {
    result.nvidiaSmi.error = list.error;
    return result;
  }
  for (const line of list.out.split('\n')) {
    // The name may hold commas, so the fixed fields are taken from both ends.
    const c = line.split(',').map((s) => s.trim());
    if (c.length < 5 || !/^\d+$/.test(c[0] as string)) continue;
    const mem = Number(c[c.length - 2]);
    const mig = c[c.length - 1] as string;
    result.gpus.push({
      index: Number(c[0]),
      uuid: c[1] as string,
      name: c.slice(2, c.length - 2).join(', '),
      memTotalMib: Number.isFinite(mem) ? mem : null,
      migMode: /^\[.*\]$/.test(mig) ? null : mig,
    });
  }
  // Some GPUs reject some ids (no NVLink, say); fall back to the activity metrics alone.
  for (const ids of [GPM_IDS, GPM_CORE_IDS]) {
    const gpm = await runSmi(opts.smiPath, dmonArgs(ids, 1, 1), timeoutMs);
    const parser = new DmonParser();
    for (const line of gpm.out.split('\n')) parser.line(line);
    if (gpm.ok && parser.hasGpmColumns()) {
      result.gpm = true;
      result.gpmIds = [...ids];
      result.gpmError = null;
      break;
    }
    result.gpmError = gpm.error ?? 'dmon printed no GPM columns';
  }
  return result;
}
