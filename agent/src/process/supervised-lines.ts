import { execa } from 'execa';
import { Backoff, waitUnlessAborted, type SamplerState } from '@stagewatch/shared';

export interface Failure {
  code: string;
  message: string;
  /** The rejected input, where the tool named one (an unknown field). */
  field?: string;
}

export interface SupervisedLinesOptions {
  name: string;
  file: string;
  /** Recomputed at every start, so a restart can drop a field the tool rejected. */
  args: () => string[];
  /** Returns true for a data line; false lines are kept to explain a later failure. */
  onLine: (line: string) => boolean;
  /** Kill and restart when no line arrived for this long (the tool hangs). */
  hangAfterMs: number;
  /** Kill and restart after this many unparseable lines in a row (the tool prints garbage). */
  maxBadInARow?: number;
  classify: (output: string, exitCode: number | null, spawnCode?: string) => Failure;
  /** What to do after a failure; `retry-now` skips the backoff (the cause was fixed). */
  onFailure?: (f: Failure) => 'retry' | 'retry-now' | 'stop';
  backoff?: { initialMs: number; maxMs: number };
  log: (msg: string) => void;
  onStateChange?: (state: SamplerState, error: string | undefined) => void;
}

/**
 * Keeps one long-running line-printing child alive: restart with exponential backoff and jitter,
 * a watchdog for silence, and a reason for every failure. Written here because process
 * managers (pm2 and the like) supervise services, not a child that must be parsed line by line.
 */
export class SupervisedLines {
  state: SamplerState = 'starting';
  restarts = 0;
  lines = 0;
  badLines = 0;
  lastError: string | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private kill: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;

  constructor(private readonly opts: SupervisedLinesOptions) {}

  start(): void {
    this.loopDone ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.kill?.();
    await this.loopDone;
    this.setState('stopped', this.lastError);
  }

  private setState(state: SamplerState, error: string | undefined): void {
    const changed = state !== this.state || error !== this.lastError;
    this.state = state;
    this.lastError = error;
    if (changed) this.opts.onStateChange?.(state, error);
  }

  private async loop(): Promise<void> {
    const backoff = new Backoff(this.opts.backoff ?? { initialMs: 500, maxMs: 30_000 });
    while (!this.stopped) {
      const { failure, goodLines } = await this.runOnce();
      if (this.stopped) return;
      if (goodLines > 0) backoff.reset();
      const decision = this.opts.onFailure?.(failure) ?? 'retry';
      this.opts.log(`${this.opts.name}: ${failure.message}${decision === 'stop' ? '; giving up' : '; restarting'}`);
      if (decision === 'stop') {
        this.setState('down', failure.message);
        return;
      }
      this.setState('degraded', failure.message);
      if (decision === 'retry' && !(await waitUnlessAborted(backoff.next(), this.abort.signal))) return;
      this.restarts++;
    }
  }

  private async runOnce(): Promise<{ failure: Failure; goodLines: number }> {
    const { opts } = this;
    const recent: string[] = [];
    let goodLines = 0;
    let badInARow = 0;
    let lastLineAt = Date.now();
    let killedFor: Failure | null = null;
    const child = execa(opts.file, opts.args(), {
      reject: false,
      stdin: 'ignore',
      buffer: { stdout: false, stderr: true },
      maxBuffer: { stderr: 1 << 16 },
      cancelSignal: this.abort.signal,
      forceKillAfterDelay: 1000,
      // Its own process group: a terminal's Ctrl-C goes to the agent, which stops the tool in
      // order, instead of killing the tool first and being logged as a failure ("restarting").
      detached: true,
    });
    this.kill = () => child.kill('SIGKILL');
    const watchdog = setInterval(() => {
      if (Date.now() - lastLineAt > opts.hangAfterMs && !killedFor) {
        killedFor = { code: 'hang', message: `no output for ${Date.now() - lastLineAt} ms` };
        child.kill('SIGKILL');
      }
    }, Math.max(50, Math.min(1000, opts.hangAfterMs / 4)));
    try {
      for await (const line of child.iterable({ from: 'stdout' })) {
        lastLineAt = Date.now();
        if (line.trim() === '') continue;
        if (opts.onLine(line)) {
          this.lines++;
          goodLines++;
          badInARow = 0;
          if (this.state !== 'ok') this.setState('ok', undefined);
        } else {
          this.badLines++;
          badInARow++;
          recent.push(line);
          if (recent.length > 8) recent.shift();
          if (opts.maxBadInARow !== undefined && badInARow >= opts.maxBadInARow && !killedFor) {
            killedFor = { code: 'garbage', message: `unparseable output: ${JSON.stringify(line.slice(0, 120))}` };
            child.kill('SIGKILL');
          }
        }
      }
    } catch {
      // The result below says why the stream ended.
    } finally {
      clearInterval(watchdog);
    }
    const result = await child;
    this.kill = null;
    if (killedFor) return { failure: killedFor, goodLines };
    const spawnCode = typeof (result as { code?: unknown }).code === 'string' ? (result as { code: string }).code : undefined;
    const exitCode = result.exitCode ?? null;
    const failure = opts.classify([...recent, String(result.stderr ?? '')].join('\n'), exitCode, spawnCode);
    return { failure, goodLines };
  }
}
