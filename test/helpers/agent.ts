import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { AGENT_BIN, FAKE_SMI } from './fixtures.js';

export interface Line {
  t: number;
  host: string;
  source: string;
  gpu?: number;
  pid?: number;
  dur_ms?: number;
  m?: Record<string, number>;
  sampler?: string;
  state?: string;
  error?: string;
  restarts?: number;
  absent?: Record<string, Record<string, number>>;
}

export interface AgentRun {
  exitCode: number | undefined;
  lines: Line[];
  stdout: string;
  stderr: string;
}

const made = new Set<string>();

/** A new temporary directory, removed after the test file (removeTempDirs, in test/helpers/setup.ts). */
export function tempDir(prefix = 'stagewatch-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  made.clear();
}

/** Runs the built agent CLI with the fake nvidia-smi (unless env overrides it). */
export async function runAgent(args: string[], env: Record<string, string> = {}): Promise<AgentRun> {
  const r = await execa(process.execPath, [AGENT_BIN, ...args], {
    reject: false,
    timeout: 60_000,
    env: { STAGEWATCH_NVIDIA_SMI: FAKE_SMI, ...env },
  });
  const stdout = String(r.stdout);
  const lines = stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
  return { exitCode: r.exitCode, lines, stdout, stderr: String(r.stderr) };
}

export const gpuQuerySamples = (lines: Line[], gpu: number): Line[] =>
  lines.filter((l) => l.source === 'gpu' && l.gpu === gpu && l.m && 'util_pct' in l.m);
export const gpmSamples = (lines: Line[], gpu: number): Line[] =>
  lines.filter((l) => l.source === 'gpu' && l.gpu === gpu && l.m && 'sm_active_pct' in l.m);
export const healthOf = (lines: Line[], sampler: string): Line[] =>
  lines.filter((l) => l.source === 'health' && l.sampler === sampler);
