import type { SamplerHealth } from '@stagewatch/shared';
import { classifySmiFailure } from '../nvidia-smi/errors.js';
import { metricFieldsFor, type MetricField } from '../nvidia-smi/fields.js';
import { parseQueryLine, queryArgs } from '../nvidia-smi/query.js';
import { pcieCapacityMibps } from '@stagewatch/shared';
import { SupervisedLines } from '../process/supervised-lines.js';
import { AbsentCounter, healthRecord, type Emit, type Sampler, type SamplerContext } from './types.js';

export interface NvidiaSmiSamplerOptions {
  smiPath: string;
  fields: readonly string[];
  intervalMs: number;
  /** Silence longer than this many intervals counts as a hang. */
  hangIntervals?: number;
}

/**
 * GPU sampling through one long-running `nvidia-smi --query-gpu ... -lms N`: a process per
 * sample would cost ~29 ms of CPU each. Lines are stamped with the agent's clock on arrival,
 * because nvidia-smi's own timestamp has no time zone.
 */
export class NvidiaSmiSampler implements Sampler {
  readonly name = 'gpu.nvidia-smi';
  private fields: MetricField[];
  private readonly absent = new AbsentCounter();
  private readonly proc: SupervisedLines;
  private emit: Emit = () => {};

  constructor(
    private readonly ctx: SamplerContext,
    private readonly opts: NvidiaSmiSamplerOptions,
  ) {
    this.fields = metricFieldsFor(opts.fields);
    this.proc = new SupervisedLines({
      name: this.name,
      file: opts.smiPath,
      args: () => queryArgs(this.fields, opts.intervalMs),
      onLine: (line) => this.onLine(line),
      hangAfterMs: opts.intervalMs * (opts.hangIntervals ?? 5) + 2000,
      maxBadInARow: 5,
      classify: classifySmiFailure,
      onFailure: (f) => {
        const field = f.field;
        if (f.code === 'invalid-field' && field) {
          // A field the driver rejects at run time is dropped, loudly, and the rest go on.
          const before = this.fields.length;
          this.fields = this.fields.filter((x) => x.field !== field);
          if (this.fields.length < before) {
            this.ctx.log(`${this.name}: dropping field ${field} the driver rejects`);
            return 'retry-now';
          }
        }
        return 'retry';
      },
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

  activeFields(): string[] {
    return this.fields.map((f) => f.field);
  }

  private onLine(line: string): boolean {
    const r = parseQueryLine(line, this.fields);
    if (!r.ok) return false;
    this.absent.add(r.line.absent);
    const m = r.line.m;
    const cap = pcieCapacityMibps(m.pcie_link_gen, m.pcie_link_width);
    if (cap !== null) m.pcie_capacity_mibps = cap;
    else if ('pcie_link_gen' in m || 'pcie_link_width' in m || 'pcie_link_gen' in r.line.absent) this.absent.add({ pcie_capacity_mibps: '[PCIe generation or width unknown]' });
    // nvidia-smi reads every -lms interval: a line covers the interval before it (arrival times
    // jitter with pipe buffering; the reading's own period does not).
    this.emit({ t: Date.now(), host: this.ctx.host, source: 'gpu', gpu: r.line.index, dur_ms: this.opts.intervalMs, m });
    return true;
  }

  health(now: number): SamplerHealth {
    return healthOf(this.name, this.ctx.host, this.proc, this.absent, now);
  }
}

export function healthOf(
  sampler: string,
  host: string,
  proc: SupervisedLines,
  absent: AbsentCounter,
  now: number,
): SamplerHealth {
  const { state, lastError: error, restarts, lines, badLines } = proc;
  return healthRecord(sampler, host, now, { state, error, restarts, lines, badLines, absent });
}
