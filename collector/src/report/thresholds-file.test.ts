import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../analysis/thresholds.js';
import { readThresholds } from './index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const file = (body: string): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-th-'));
  dirs.push(d);
  const f = path.join(d, 'th.json');
  writeFileSync(f, body);
  return f;
};

describe('report --thresholds FILE', () => {
  it('takes some keys and keeps the defaults for the rest', () => {
    expect(readThresholds(file('{"linkLoadPct": 50, "hostThreadPct": 95}'))).toEqual({ ...DEFAULT_THRESHOLDS, linkLoadPct: 50, hostThreadPct: 95 });
  });

  it('names a retired key rather than ignoring it', () => {
    expect(() => readThresholds(file('{"lowActivityPct": 30}'))).toThrow(/th\.json: lowActivityPct: retired: per-interval states replaced the stage-mean rules/);
  });

  it('names an unknown key and a value out of range', () => {
    expect(() => readThresholds(file('{"linkLoad": 30}'))).toThrow(/th\.json: \(root\): .*linkLoad/);
    expect(() => readThresholds(file('{"majorityShare": 2}'))).toThrow(/th\.json: majorityShare: /);
  });
});
