import { readdir, readFile } from 'node:fs/promises';
import type { SamplerHealth } from '@stagewatch/shared';
import { errorMessage } from '@stagewatch/shared';
import { parsePidStat, parseStatusRssKib, treeCpuCores, treePids, type ProcStat } from '../procfs/proc-tree.js';
import { round } from './host.js';
import { AbsentCounter, type Emit, type Sampler, type SamplerContext } from './types.js';

// USER_HZ is 100 on every Linux architecture GPU hosts run (x86-64, arm64, ppc64le).
const CLK_TCK = 100;

/**
 * The workload's own CPU, memory and threads: the tree rooted at one pid. Host CPU cannot tell
 * "one T5 thread saturates a core" from noise made by other processes; this can.
 */
export class ProcTreeSampler implements Sampler {
  readonly name = 'proc.tree';
  private timer: NodeJS.Timeout | null = null;
  private prev: { at: number; uptimeTicks: number; stats: Map<number, ProcStat> } | null = null;
  private samples = 0;
  private errors = 0;
  private lastError: string | undefined;
  private gone = false;
  private busy = false;

  constructor(
    private readonly ctx: SamplerContext,
    private readonly rootPid: number,
    private readonly intervalMs: number,
    private readonly procRoot = '/proc',
  ) {}

  start(emit: Emit): void {
    const tick = (): void => {
      if (this.busy || this.gone) return;
      this.busy = true;
      this.sampleOnce(emit)
        .catch((e: unknown) => {
          this.errors++;
          this.lastError = errorMessage(e);
        })
        .finally(() => (this.busy = false));
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async readAllStats(): Promise<Map<number, ProcStat>> {
    const stats = new Map<number, ProcStat>();
    const entries = await readdir(this.procRoot);
    await Promise.all(
      entries
        .filter((e) => /^\d+$/.test(e))
        .map(async (e) => {
          try {
            const s = parsePidStat(await readFile(`${this.procRoot}/${e}/stat`, 'utf8'));
            if (s) stats.set(s.pid, s);
          } catch {
            // exited between readdir and read
          }
        }),
    );
    return stats;
  }

  private async sampleOnce(emit: Emit): Promise<void> {
    const [all, uptime] = await Promise.all([this.readAllStats(), readFile(`${this.procRoot}/uptime`, 'utf8')]);
    const now = Date.now();
    if (!all.has(this.rootPid)) {
      this.gone = true;
      this.lastError = `process ${this.rootPid} exited`;
      this.ctx.log(`${this.name}: ${this.lastError}`);
      this.ctx.onHealthChange?.(this);
      return;
    }
    const pids = treePids(this.rootPid, all.values());
    const tree = new Map([...pids].map((p) => [p, all.get(p)]).filter((e): e is [number, ProcStat] => e[1] !== undefined));
    const rssKib = await Promise.all(
      [...tree.keys()].map((p) => readFile(`${this.procRoot}/${p}/status`, 'utf8').then(parseStatusRssKib, () => 0)),
    );
    const uptimeTicks = Number((uptime.split(' ')[0] as string)) * CLK_TCK;
    const prev = this.prev;
    this.prev = { at: now, uptimeTicks, stats: tree };
    if (!prev) return;
    const m = {
      cpu_cores: round(treeCpuCores(prev.stats, tree, prev.uptimeTicks, (now - prev.at) / 1000, CLK_TCK), 3),
      rss_mib: round(rssKib.reduce((a, b) => a + b, 0) / 1024),
      threads: [...tree.values()].reduce((a, s) => a + s.threads, 0),
      procs: tree.size,
    };
    this.samples++;
    emit({ t: now, host: this.ctx.host, source: 'proc', m });
  }

  health(now: number): SamplerHealth {
    return {
      t: now,
      host: this.ctx.host,
      source: 'health',
      sampler: this.name,
      state: this.timer === null ? 'stopped' : this.gone ? 'down' : this.lastError ? 'degraded' : 'ok',
      ...(this.lastError ? { error: this.lastError } : {}),
      restarts: 0,
      lines: this.samples,
      badLines: this.errors,
      absent: new AbsentCounter().snapshot(),
    };
  }
}
