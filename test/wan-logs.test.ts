import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Mark } from '@stagewatch/shared';
import { buildStages, type StageInterval } from '../collector/src/analysis/stages.js';
import { useScratch } from './helpers/scratch.js';
import { GENERATE_SHAPED, pythonWithTqdm, readCapture, truthOf, WanLogReader, type TruthRecord } from './helpers/wan-logs.js';

const tempDir = useScratch();

// How far a boundary may sit from the workload's own clock: the time for a line to cross a pipe.
// Captures replay their own receive times, so 40 ms holds whatever the machine does...
const TOL_MS = 40;
// ...live runs also wait for a vitest worker on a loaded 2-core machine to read the pipe (it took
// over 40 ms there while other test files ran). Structure (stages, steps, inferred) is exact.
const LIVE_TOL_MS = 150;

function check(marks: Mark[], endMs: number, truth: TruthRecord[], steps: number, tolMs = TOL_MS): { stages: StageInterval[]; inferredSteps: number } {
  const { stages, problems } = buildStages(marks, endMs);
  expect(problems).toEqual([]);
  const top = stages.filter((s) => s.depth === 0);
  expect(top.map((s) => s.name)).toEqual(['init', 't5_encode', 'denoise', 'vae_decode', 'save']);
  const by = (n: string): StageInterval => top.find((s) => s.name === n) as StageInterval;
  // Inferred stages say so; stages a line or the bar gave do not.
  expect(by('t5_encode').inferred).toMatch(/^no line marks it: from 'Generating \.\.\.' to the sampling bar's first update/);
  expect(by('vae_decode').inferred).toMatch(/^no line marks it: from the last step's end to 'Saving generated \.\.\.'/);
  for (const n of ['init', 'denoise', 'save']) expect(by(n).inferred, n).toBeUndefined();
  const near = (got: number, want: number, what: string): void => {
    expect(Math.abs(got - want), `${what}: ${got.toFixed(1)} vs workload's ${want.toFixed(1)}`).toBeLessThan(tolMs);
  };
  near(by('init').start, truthOf(truth, 'init').begin, 'init begins');
  near(by('t5_encode').start, truthOf(truth, 't5_encode').begin, 'T5 begins');
  near(by('t5_encode').end, truthOf(truth, 't5_encode').end, 'T5 ends');
  near(by('denoise').end, truthOf(truth, 'denoise').end, 'denoise ends');
  near(by('vae_decode').start, truthOf(truth, 'vae_decode').begin, 'VAE begins');
  near(by('vae_decode').end, truthOf(truth, 'vae_decode').end, 'VAE ends');
  const st = stages.filter((s) => s.step !== undefined);
  expect(st.map((s) => s.step)).toEqual([...Array(steps).keys()]);
  expect(st.every((s) => s.name === 'denoise_step' && s.depth === 1)).toBe(true);
  // No phantom step around VAE decoding or saving.
  expect(st.every((s) => s.end <= by('denoise').end)).toBe(true);
  for (const s of st) {
    const want = truthOf(truth, 'denoise_step', s.step);
    // A step the bar drew on its own is right to the line; a split one ends right where its group does.
    if (s.inferred === undefined) {
      near(s.start, want.begin, `step ${s.step} begins`);
      near(s.end, want.end, `step ${s.step} ends`);
    } else {
      expect(s.inferred).toMatch(/^progress bar drew steps \d+-\d+ in one update: \d+\.\d\d s split evenly$/);
    }
  }
  const last = st.at(-1) as StageInterval;
  near(last.end, truthOf(truth, 'denoise_step', steps - 1).end, 'last step ends');
  // Split or not, the steps tile the denoise stage.
  expect(st[0]?.start).toBeCloseTo(by('denoise').start, 6);
  st.slice(1).forEach((s, i) => expect(s.start).toBeCloseTo((st[i] as StageInterval).end, 6));
  return { stages, inferredSteps: st.filter((s) => s.inferred !== undefined).length };
}

describe('the wan preset on upstream-shaped logs drawn by the real tqdm (captured)', () => {
  it('t2v, one process, 0.25 s steps: every step to the line, T5 and VAE inferred', () => {
    const cap = readCapture('t2v-1gpu.jsonl');
    const r = new WanLogReader();
    for (const c of cap.chunks) r.chunk(c.fd, c.data, c.ms);
    const end = (cap.chunks.at(-1) as { ms: number }).ms + 5;
    const { inferredSteps } = check(r.end(end), end, cap.truth, 12);
    expect(inferredSteps).toBe(0);
  });

  it('i2v under torchrun (2 ranks, two bars interleaved), 40 ms steps: throttled redraws split honestly', () => {
    const cap = readCapture('i2v-torchrun2.jsonl');
    const r = new WanLogReader();
    for (const c of cap.chunks) r.chunk(c.fd, c.data, c.ms);
    const end = (cap.chunks.at(-1) as { ms: number }).ms + 5;
    const { stages, inferredSteps } = check(r.end(end), end, cap.truth, 30);
    // tqdm redraws at most every 0.1 s: most 40 ms steps share a redraw with others.
    expect(inferredSteps).toBeGreaterThan(15);
    const st = stages.filter((s) => s.step !== undefined);
    const mean = st.reduce((a, s) => a + s.end - s.start, 0) / st.length;
    const truthMean = st.reduce((a, s) => a + ((w) => w.end - w.begin)(truthOf(cap.truth, 'denoise_step', s.step)), 0) / st.length;
    expect(Math.abs(mean - truthMean)).toBeLessThan(5);
  });
});

/** Runs generate_shaped.py, feeding its output to the preset as it arrives; returns marks and its truth. */
async function live(args: string[]): Promise<{ marks: Mark[]; end: number; truth: TruthRecord[] }> {
  const truthFile = path.join(tempDir(), 'truth.jsonl');
  const child = spawn(pythonWithTqdm(), [GENERATE_SHAPED, '--truth', truthFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r = new WanLogReader();
  child.stdout.on('data', (b: Buffer) => r.chunk(1, b, Date.now()));
  child.stderr.on('data', (b: Buffer) => r.chunk(2, b, Date.now()));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  expect(code).toBe(0);
  const end = Date.now();
  const truth = readFileSync(truthFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TruthRecord);
  return { marks: r.end(end), end, truth };
}

describe('the wan preset on the real tqdm, live', () => {
  const pace = ['--init-s', '0.4', '--t5-s', '0.3', '--vae-s', '0.3', '--save-s', '0.1'];
  for (const [task, world, stepS] of [
    ['t2v-14B', 1, 0.15],
    ['ti2v-5B', 1, 0.03],
    ['flf2v-14B', 2, 0.15],
    ['i2v-14B', 3, 0.03],
  ] as const) {
    it(`${task}, ${world} process(es), ${stepS * 1000} ms steps`, async () => {
      const { marks, end, truth } = await live(['--task', task, '--steps', '10', '--step-s', String(stepS), '--world-size', String(world), ...pace]);
      const { inferredSteps } = check(marks, end, truth, 10, LIVE_TOL_MS);
      if (stepS > 0.1) expect(inferredSteps).toBe(0);
    });
  }

  it('t2i says "Generating image" and "Saving generated image": the same stages', async () => {
    const { marks, end, truth } = await live(['--task', 't2i-14B', '--steps', '6', '--step-s', '0.12', ...pace]);
    check(marks, end, truth, 6, LIVE_TOL_MS);
  });
});
