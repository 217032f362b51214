import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pickProcesses } from '../samplers/proc.js';
import { ProcFiles } from './reader.js';
import { TreeScanner } from './tree-scan.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A /proc holding only what the scanner reads: loadavg and each process's stat. */
function fakeProc(): { root: string; proc: (pid: number, ppid: number) => void; lastPid: (pid: number) => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-proc-'));
  dirs.push(root);
  const proc = (pid: number, ppid: number): void => {
    mkdirSync(path.join(root, String(pid)), { recursive: true });
    writeFileSync(path.join(root, String(pid), 'stat'), `${pid} (python3) S ${ppid} ${pid} ${pid} 0 -1 4194304 1 0 0 0 250 50 0 0 20 0 9 0 123456 1000 200 18446744073709551615`);
  };
  const lastPid = (pid: number): void => writeFileSync(path.join(root, 'loadavg'), `0.10 0.20 0.30 1/100 ${pid}\n`);
  return { root, proc, lastPid };
}

describe('TreeScanner', () => {
  it('walks /proc again only when a process was created since (the last pid moved)', () => {
    const p = fakeProc();
    p.proc(1, 0);
    p.proc(10, 1);
    p.proc(11, 10);
    p.proc(20, 1);
    p.lastPid(20);
    const files = new ProcFiles();
    const scan = new TreeScanner(10, files, p.root, 1000);
    expect([...scan.current(0)].sort()).toEqual([10, 11]);
    // A child appears, but the last pid stands still (a test can do that; the kernel cannot): no walk.
    p.proc(12, 11);
    expect([...scan.current(1500)].sort()).toEqual([10, 11]);
    p.lastPid(12);
    // Within the rescan interval nothing is walked either.
    expect([...scan.current(2000)].sort()).toEqual([10, 11]);
    expect([...scan.current(2600)].sort()).toEqual([10, 11, 12]);
    scan.remove(11);
    expect([...scan.current(2700)].sort()).toEqual([10, 12]);
    files.close();
  });

  it('walks each time it is due where there is no loadavg', () => {
    const p = fakeProc();
    p.proc(10, 1);
    const files = new ProcFiles();
    const scan = new TreeScanner(10, files, p.root, 1000);
    expect([...scan.current(0)]).toEqual([10]);
    p.proc(12, 10);
    expect([...scan.current(1000)].sort()).toEqual([10, 12]);
    files.close();
  });
});

describe('which processes get a sample of their own', () => {
  it('GPU holders first, then the busiest, at most max', () => {
    const cores = new Map([[1, 0.1], [2, 2.5], [3, 0.9], [4, 0]]);
    const holders = new Map([[4, [{ gpu: 0, memMib: 100 }]]]);
    expect(pickProcesses(cores, holders, 3)).toEqual([4, 2, 3]);
    expect(pickProcesses(cores, new Map(), 16)).toEqual([2, 3, 1, 4]);
  });
});
