import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/fixtures.js';

describe('Python marks client', () => {
  it('passes its own unit tests (buffering, drops, exit flush, fallback, anchor and drift math)', async () => {
    const r = await execa('python3', ['-m', 'unittest', 'discover', '-s', path.join(ROOT, 'agent', 'clients', 'python'), '-p', 'test_*.py', '-v'], { reject: false, all: true, timeout: 120_000 });
    expect(r.exitCode, String(r.all)).toBe(0);
    const ran = /Ran (\d+) tests/.exec(String(r.all));
    expect(Number(ran?.[1])).toBeGreaterThanOrEqual(17);
    expect(String(r.all)).toMatch(/\nOK\s*$/);
  });
});
