import { rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { tempDir } from './agent.js';

/** A temp-dir maker whose dirs are removed after the calling test file's tests. */
export function useScratch(prefix = 'stagewatch-test-'): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };
}
