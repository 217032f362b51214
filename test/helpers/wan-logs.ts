import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Mark } from '@stagewatch/shared';
import { LineSplitter, loadPreset, LogStageTracker } from '../../agent/src/stages/log-rules.js';
import { FIXTURES } from './fixtures.js';

export const WAN_UPSTREAM = path.join(FIXTURES, 'wan-upstream');
export const GENERATE_SHAPED = path.join(WAN_UPSTREAM, 'generate_shaped.py');

export interface TruthRecord {
  t: number;
  rank: number;
  kind: 'begin' | 'end';
  stage: string;
  step?: number;
}

export interface Capture {
  chunks: Array<{ ms: number; fd: 1 | 2; data: string }>;
  truth: TruthRecord[];
}

/** A capture written by test/fixtures/wan-upstream/capture.mjs. */
export function readCapture(name: string): Capture {
  const chunks: Capture['chunks'] = [];
  const truth: TruthRecord[] = [];
  for (const line of readFileSync(path.join(WAN_UPSTREAM, name), 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as { ms?: number; fd?: 1 | 2; data?: string; truth?: TruthRecord };
    if (r.truth) truth.push(r.truth);
    else if (r.data !== undefined && r.fd !== undefined && r.ms !== undefined) chunks.push({ ms: r.ms, fd: r.fd, data: r.data });
  }
  return { chunks, truth };
}

/** Feeds chunks through the splitter and the wan preset as `run` does: lines, then the unterminated tail. */
export class WanLogReader {
  readonly marks: Mark[] = [];
  private readonly tracker = new LogStageTracker(loadPreset('wan', false));
  private readonly split = new Map<number, { s: LineSplitter; d: StringDecoder }>();

  chunk(fd: number, data: string | Buffer, t: number): void {
    let st = this.split.get(fd);
    if (!st) this.split.set(fd, (st = { s: new LineSplitter(), d: new StringDecoder('utf8') }));
    const text = typeof data === 'string' ? data : st.d.write(data);
    for (const line of st.s.push(text)) this.marks.push(...this.tracker.line(line, t));
    if (st.s.tail() !== '') this.marks.push(...this.tracker.line(st.s.tail(), t, true));
  }

  end(t: number): Mark[] {
    this.marks.push(...this.tracker.finish(t));
    return this.marks;
  }
}

/** A Python 3 that has tqdm (Debian's python3-tqdm is in /usr/bin; .ci/run installs it). */
export function pythonWithTqdm(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import tqdm'], { stdio: 'ignore' });
      return py;
    } catch {
      // next
    }
  }
  throw new Error('no python3 with tqdm: apt-get install python3-tqdm (see .ci/run)');
}

/** The workload's own times of one stage (rank 0), or of a step. */
export function truthOf(truth: readonly TruthRecord[], stage: string, step?: number, rank = 0): { begin: number; end: number } {
  const pick = (kind: 'begin' | 'end'): number => {
    const r = truth.find((x) => x.stage === stage && x.kind === kind && x.rank === rank && x.step === step);
    if (!r) throw new Error(`no truth for ${stage} ${step ?? ''} ${kind}`);
    return r.t;
  };
  return { begin: pick('begin'), end: pick('end') };
}
