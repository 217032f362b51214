import { readdirSync, readFileSync } from 'node:fs';
import { parseLoadavgLastPid, parsePidStat, treePids } from './proc-tree.js';
import type { ProcFiles } from './reader.js';

/**
 * Which processes descend from a root pid. Walking the tree means reading every process's parent,
 * which on a busy host is hundreds of reads; two things keep that rare:
 * - /proc/loadavg names the last pid the kernel handed out: while it stands still no process (nor
 *   thread) was created, so no descendant can have appeared and the walk is skipped. Exits need no
 *   walk: the sampler drops a member whose stat can no longer be read.
 * - a pid's parent is read once and kept while the pid exists (a reparented orphan stays in the
 *   tree: it is still the workload's).
 */
export class TreeScanner {
  private readonly parents = new Map<number, number>();
  private lastPid: number | null = null;
  private scannedAt = -Infinity;
  private members: Set<number> | null = null;

  constructor(
    private readonly rootPid: number,
    private readonly files: ProcFiles,
    private readonly procRoot = '/proc',
    /** The walk happens at most this often. */
    private readonly rescanMs = 1000,
  ) {}

  /** The tree's members now (the same Set, updated in place, while nothing was created). */
  current(now: number): Set<number> {
    if (this.members && now - this.scannedAt < this.rescanMs) return this.members;
    let lastPid: number | null = null;
    try {
      lastPid = parseLoadavgLastPid(this.files.read(`${this.procRoot}/loadavg`));
    } catch {
      // no loadavg (a test's fake /proc): walk every time it is due
    }
    if (this.members && lastPid !== null && lastPid === this.lastPid) {
      this.scannedAt = now;
      return this.members;
    }
    this.lastPid = lastPid;
    this.scannedAt = now;
    this.members = this.walk();
    return this.members;
  }

  /** A member that could not be read any more has exited. */
  remove(pid: number): void {
    this.members?.delete(pid);
    this.parents.delete(pid);
  }

  private walk(): Set<number> {
    const seen = new Set<number>();
    for (const e of readdirSync(this.procRoot)) {
      const c = e.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(e);
      seen.add(pid);
      if (this.parents.has(pid)) continue;
      try {
        const s = parsePidStat(readFileSync(`${this.procRoot}/${pid}/stat`, 'latin1'));
        if (s) this.parents.set(pid, s.ppid);
      } catch {
        // exited between readdir and read
      }
    }
    for (const pid of this.parents.keys()) if (!seen.has(pid)) this.parents.delete(pid);
    return treePids(this.rootPid, [...this.parents].map(([pid, ppid]) => ({ pid, ppid })));
  }
}
