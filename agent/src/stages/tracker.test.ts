import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Mark } from '@stagewatch/shared';
import { loadPreset, LogStageTracker } from './log-rules.js';

const bar = (k: number, n: number): string => `${String(Math.round((100 * k) / n)).padStart(3)}%|#         | ${k}/${n} [00:01<00:09,  1.00s/it]`;
const log = (msg: string): string => `[2025-07-28 10:00:00,000] INFO: ${msg}`;
/** Marks in a compact form: "begin denoise_step 3 @120 *" (* = inferred). */
const fmt = (ms: Mark[]): string[] => ms.map((m) => `${m.kind} ${m.stage}${m.step !== undefined ? ` ${m.step}` : ''} @${Math.round(m.t)}${m.inferred ? ' *' : ''}`);

function feed(lines: Array<[number, string, boolean?]>, endAt?: number): string[] {
  const t = new LogStageTracker(loadPreset('wan', false));
  const out: Mark[] = [];
  for (const [at, text, partial] of lines) out.push(...t.line(text, at, partial ?? false));
  if (endAt !== undefined) out.push(...t.finish(endAt));
  return fmt(out);
}

describe('wan preset: upstream generate.py', () => {
  it('infers T5 (line → first update) and VAE (last step → Saving); steps end when each count is printed', () => {
    expect(
      feed(
        [
          [0, log('Creating WanT2V pipeline.')],
          [10, log('Creating WanModel from ./ckpt')],
          [100, log('Generating video ...')],
          [140, bar(0, 2), true],
          [140, bar(0, 2)],
          [150, bar(1, 2), true],
          [160, bar(2, 2), true],
          [160, bar(2, 2)],
          [200, log('Saving generated video to out.mp4')],
          [210, log('Finished.')],
        ],
        220,
      ),
    ).toEqual([
      'begin init @0',
      'end init @100',
      'begin t5_encode @100 *',
      'end t5_encode @140 *',
      'begin denoise @140',
      'begin denoise_step 0 @140',
      'end denoise_step 0 @150',
      'begin denoise_step 1 @150',
      'end denoise_step 1 @160',
      'end denoise @160',
      'begin vae_decode @160 *',
      'end vae_decode @200 *',
      'begin save @200',
      'end save @210',
    ]);
  });

  it('splits a throttled jump evenly and says so; a redraw of the same count is nothing', () => {
    expect(feed([[0, log('Generating video ...')], [100, bar(0, 6)], [110, bar(0, 6)], [400, bar(3, 6)], [500, bar(4, 6)]])).toEqual([
      'begin t5_encode @0 *',
      'end t5_encode @100 *',
      'begin denoise @100',
      'begin denoise_step 0 @100',
      'end denoise_step 0 @200 *',
      'begin denoise_step 1 @200 *',
      'end denoise_step 1 @300 *',
      'begin denoise_step 2 @300 *',
      'end denoise_step 2 @400 *',
      'begin denoise_step 3 @400',
      'end denoise_step 3 @500',
      'begin denoise_step 4 @500',
    ]);
  });

  it('reads a bar before its line end only when the count is whole', () => {
    const t = new LogStageTracker(loadPreset('wan', false));
    t.line(log('Generating video ...'), 0);
    t.line(bar(0, 50), 10, true);
    // "| 1" could be the start of "| 12/50": wait for more.
    expect(t.line('  2%|#         | 1/5', 20, true)).toEqual([]);
    expect(fmt(t.line(bar(1, 50), 30, true))).toEqual(['end denoise_step 0 @30', 'begin denoise_step 1 @30']);
    // A logged line is read only when whole.
    expect(t.line(log('Saving generated video to x'), 40, true)).toEqual([]);
  });

  it('torchrun: a lagging rank\'s lower count is ignored; after completion only a fresh bar (0/N) starts over', () => {
    expect(
      feed([
        [0, log('Generating video ...')],
        [10, bar(0, 2)],
        [11, bar(0, 2)],
        [20, bar(1, 2)],
        [21, bar(0, 2)],
        [30, bar(2, 2)],
        [31, bar(1, 2)],
        [32, bar(2, 2)],
        [40, bar(0, 2)],
        [50, bar(1, 2)],
      ]),
    ).toEqual([
      'begin t5_encode @0 *',
      'end t5_encode @10 *',
      'begin denoise @10',
      'begin denoise_step 0 @10',
      'end denoise_step 0 @20',
      'begin denoise_step 1 @20',
      'end denoise_step 1 @30',
      'end denoise @30',
      'begin vae_decode @30 *',
      // A second sampling pass (Wan2.2 s2v/animate clips): VAE ends, a new denoise begins.
      'end vae_decode @40 *',
      'begin denoise @40',
      'begin denoise_step 0 @40',
      'end denoise_step 0 @50',
      'begin denoise_step 1 @50',
    ]);
  });

  it('a resumed bar (first count k > 0, no line to start from) runs from step k; none is made up', () => {
    expect(feed([[0, bar(5, 7)], [10, bar(6, 7)]])).toEqual(['begin denoise @0', 'begin denoise_step 5 @0', 'end denoise_step 5 @10', 'begin denoise_step 6 @10']);
  });

  it('a workload that logs T5 itself: nothing inferred, "Generating" begins denoise and step 0', () => {
    expect(
      feed(
        [
          [0, log('loading T5 encoder on cpu; encoding prompt')],
          [80, log('Generating video ... sampling 2 steps')],
          [100, bar(1, 2)],
          [120, bar(2, 2)],
          [125, log('Decoding latents with VAE')],
        ],
        130,
      ),
    ).toEqual([
      'begin t5_encode @0',
      'end t5_encode @80',
      'begin denoise @80',
      'begin denoise_step 0 @80',
      'end denoise_step 0 @100',
      'begin denoise_step 1 @100',
      'end denoise_step 1 @120',
      'end denoise @120',
      'begin vae_decode @120 *',
      'end vae_decode @130 *',
    ]);
  });

  it('"Generating" with no bar after it infers nothing: the line begins denoise, as any logged stage', () => {
    expect(feed([[0, log('Generating video ...')], [500, log('Saving generated video to x')]], 600)).toEqual([
      'begin denoise @0',
      'end denoise @500',
      'begin save @500',
      'end save @600',
    ]);
  });

  it('an exit mid-bar ends the open step and the stage, and says the step was cut', () => {
    expect(feed([[0, bar(0, 9)], [10, bar(1, 9)]], 15)).toEqual(['begin denoise @0', 'begin denoise_step 0 @0', 'end denoise_step 0 @10', 'begin denoise_step 1 @10', 'end denoise_step 1 @15 *', 'end denoise @15']);
  });

  it('prompt extension and Wan2.2 pipeline names are stages; a prompt that mentions T5 is not', () => {
    expect(
      feed([
        [0, log('Input prompt: a T5 robot encoding a prompt')],
        [5, log('Extending prompt ...')],
        [50, log('Creating Wan-Animate pipeline.')],
      ]),
    ).toEqual(['begin prompt_extend @5', 'end prompt_extend @50', 'begin init @50']);
  });

  it('refuses a preset whose inferred stage has no note, naming the field', () => {
    const bad = { name: 'x', rules: [{ pattern: 'a', stage: 'b', before: { stage: 'c' } }] };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-preset-'));
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(bad));
    try {
      expect(() => loadPreset(file, true)).toThrow(/rules\.0/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
