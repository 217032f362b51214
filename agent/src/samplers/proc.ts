import { readdirSync, readFileSync } from 'node:fs';
import { parsePidStat, parseStatusRssKib, treeCpuCores, treePids, type ProcStat } from '../procfs/proc-tree.js';
import { round } from './host.js';
import { ProcFiles } from '../procfs/reader.js';
import { IntervalSampler } from './interval.js';
import type { Emit, SamplerContext } from './types.js';

// USER_HZ is 100 on every Linux architecture GPU hosts run (x86-64, arm64, ppc64le).
const CLK_TCK = 100;

/**
 * The workload's own CPU, memory and threads: the tree rooted at one pid. Host CPU cannot tell
 * "one T5 thread saturates a core" from noise made by other processes; this can. The tree is
 * walked once a second; its members are read every tick.
 */
export class ProcTreeSampler extends IntervalSampler {
  readonly name = 'proc.tree';
  private prev: { at: number; uptimeTicks: number; stats: Map<number, ProcStat> } | null = null;
  private gone = false;
  private members: Set<number> | null = null;
  private membersAt = 0;
  private readonly files = new ProcFiles();

  constructor(
    ctx: SamplerContext,
    private readonly rootPid: number,
    intervalMs: number,
    private readonly procRoot = '/proc',
    /** How often the tree is walked again for new and exited processes. */
    private readonly rescanMs = 1000,
  ) {
    super(ctx, intervalMs);
  }

  protected override down(): boolean {
    return this.gone;
  }

  protected override release(): void {
    this.files.close();
  }

  /** The whole /proc, once a rescan interval: which processes descend from the root. */
  private scanTree(): Set<number> {
    const stats: ProcStat[] = [];
    for (const e of readdirSync(this.procRoot)) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const s = parsePidStat(readFileSync(`${this.procRoot}/${e}/stat`, 'utf8'));
        if (s) stats.push(s);
      } catch {
        // exited between readdir and read
      }
    }
    return treePids(this.rootPid, stats);
  }

  private readMember(pid: number): { stat: ProcStat; rssKib: number } | null {
    try {
      const stat = parsePidStat(this.files.read(`${this.procRoot}/${pid}/stat`));
      const rssKib = parseStatusRssKib(this.files.read(`${this.procRoot}/${pid}/status`));
      return stat ? { stat, rssKib } : null;
    } catch {
      this.files.drop(`${this.procRoot}/${pid}/stat`);
      this.files.drop(`${this.procRoot}/${pid}/status`);
      return null;
    }
  }

  protected sampleOnce(emit: Emit): void {
    const now = Date.now();
    if (!this.members || now - this.membersAt >= this.rescanMs) {
      this.members = this.scanTree();
      this.membersAt = now;
    }
    const tree = new Map<number, ProcStat>();
    let rssKib = 0;
    for (const pid of this.members) {
      const r = this.readMember(pid);
      if (!r) {
        this.members.delete(pid);
        continue;
      }
      tree.set(pid, r.stat);
      rssKib += r.rssKib;
    }
    if (!tree.has(this.rootPid)) {
      this.gone = true;
      this.lastError = `process ${this.rootPid} exited`;
      this.ctx.log(`${this.name}: ${this.lastError}`);
      this.ctx.onHealthChange?.(this);
      return;
    }
    const uptimeTicks = Number(this.files.read(`${this.procRoot}/uptime`).split(' ')[0]) * CLK_TCK;
    const prev = this.prev;
    this.prev = { at: now, uptimeTicks, stats: tree };
    if (!prev) return;
    const m = {
      cpu_cores: round(treeCpuCores(prev.stats, tree, prev.uptimeTicks, (now - prev.at) / 1000, CLK_TCK), 3),
      rss_mib: round(rssKib / 1024),
      threads: [...tree.values()].reduce((a, s) => a + s.threads, 0),
      procs: tree.size,
    };
    this.samples++;
    emit({ t: now, host: this.ctx.host, source: 'proc', m });
  }
}
