import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const H100 = path.join(FIXTURES, 'h100-staged');
export const GPM_EXTRA = path.join(FIXTURES, 'h100-gpm-extra');
export const FAKE_SMI = path.join(ROOT, 'test', 'fake-nvidia-smi', 'nvidia-smi');
export const AGENT_BIN = path.join(ROOT, 'agent', 'bin', 'stagewatch-agent.js');

export function fixture(name: string, dir = H100): string {
  return readFileSync(path.join(dir, name), 'utf8');
}
