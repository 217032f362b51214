import type { SamplerHealth } from '@stagewatch/shared';
import { DmonParser, dmonArgs } from '../nvidia-smi/dmon.js';
import { classifySmiFailure } from '../nvidia-smi/errors.js';
import { SupervisedLines } from '../process/supervised-lines.js';
import { healthOf } from './nvidia-smi.js';
import { AbsentCounter, type Emit, type Sampler, type SamplerContext } from './types.js';

/**
 * dmon prints a GPM row about a second after the activity it describes (seen in the H100
 * capture: GPM lags utilization by ~1 s, so a one-second window is centred a second before the
 * row prints). A row is stamped at its window's end, DMON_GPM_END_LAG_MS before it printed,
 * with dur_ms the window (`-d`, whole seconds).
 */
export const DMON_GPM_END_LAG_MS = 500;

export interface GpmDmonSamplerOptions {
  smiPath: string;
  gpmIds: readonly number[];
  intervalMs: number;
}

/**
 * GPM metrics (SM activity, occupancy, tensor, DRAM, PCIe, NVLink) through
 * `nvidia-smi dmon --gpm-metrics`, which cannot sample faster than once a second. GPM rows are
 * emitted as gpu samples of their own: they are one-second averages, and pasting them onto the
 * faster query samples would fake a resolution they do not have.
 */
export class GpmDmonSampler implements Sampler {
  readonly name = 'gpu.gpm-dmon';
  private readonly absent = new AbsentCounter();
  private readonly proc: SupervisedLines;
  private parser = new DmonParser();
  private emit: Emit = () => {};
  private readonly delayMs: number;

  constructor(
    private readonly ctx: SamplerContext,
    opts: GpmDmonSamplerOptions,
  ) {
    const delayS = Math.min(600, Math.max(1, Math.round(opts.intervalMs / 1000)));
    this.delayMs = delayS * 1000;
    this.proc = new SupervisedLines({
      name: this.name,
      file: opts.smiPath,
      args: () => {
        this.parser = new DmonParser();
        return dmonArgs(opts.gpmIds, delayS);
      },
      onLine: (line) => this.onLine(line),
      hangAfterMs: delayS * 1000 * 5 + 2000,
      maxBadInARow: 5,
      classify: classifySmiFailure,
      onFailure: (f) => (f.code === 'gpm-unsupported' ? 'stop' : 'retry'),
      log: ctx.log,
      onStateChange: () => ctx.onHealthChange?.(this),
    });
  }

  start(emit: Emit): void {
    this.emit = emit;
    this.proc.start();
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }

  private onLine(line: string): boolean {
    const r = this.parser.line(line);
    if (r.kind === 'bad') return false;
    if (r.kind === 'header') return true;
    this.absent.add(r.row.absent);
    // Before GPM has its first sample every column reads `-`: nothing to report yet.
    if (Object.keys(r.row.m).length > 0) {
      this.emit({ t: Date.now() - DMON_GPM_END_LAG_MS, host: this.ctx.host, source: 'gpu', gpu: r.row.gpu, dur_ms: this.delayMs, m: r.row.m });
    }
    return true;
  }

  health(now: number): SamplerHealth {
    return healthOf(this.name, this.ctx.host, this.proc, this.absent, now);
  }
}
