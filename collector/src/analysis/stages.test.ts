import { describe, expect, it } from 'vitest';
import { preferExplicit } from './report.js';
import { buildStages } from './stages.js';

describe('buildStages', () => {
  it('nests stages and pairs steps by their number', () => {
    const { stages, problems } = buildStages(
      [
        { t: 0, kind: 'begin', stage: 'request' },
        { t: 1, kind: 'begin', stage: 'denoise' },
        { t: 1, kind: 'begin', stage: 'step', step: 0 },
        { t: 2, kind: 'end', stage: 'step', step: 0 },
        { t: 2, kind: 'begin', stage: 'step', step: 1 },
        { t: 4, kind: 'end', stage: 'step', step: 1 },
        { t: 4, kind: 'end', stage: 'denoise' },
        { t: 5, kind: 'end', stage: 'request' },
      ],
      10,
    );
    expect(problems).toEqual([]);
    expect(stages.map((s) => [s.name, s.step ?? null, s.start, s.end, s.depth])).toEqual([
      ['request', null, 0, 5, 0],
      ['denoise', null, 1, 4, 1],
      ['step', 0, 1, 2, 2],
      ['step', 1, 2, 4, 2],
    ]);
  });

  it('closes a stage that never ended at the end of the data, and says so', () => {
    const { stages, problems } = buildStages([{ t: 3, kind: 'begin', stage: 'vae_decode' }, { t: 1, kind: 'end', stage: 'init' }], 9);
    expect(stages).toEqual([{ name: 'vae_decode', start: 3, end: 9, depth: 0, ranks: 1, unterminated: true }]);
    expect(problems).toEqual([
      'end of stage init at 1970-01-01T00:00:00.001Z without a begin: ignored',
      'stage vae_decode never ended: closed at the end of the data',
    ]);
  });

  it('merges ranks: a stage runs from the first rank\'s begin to the last rank\'s end', () => {
    const { stages } = buildStages(
      [
        { t: 0, kind: 'begin', stage: 'denoise', rank: 0 },
        { t: 0.2, kind: 'begin', stage: 'denoise', rank: 1 },
        { t: 5, kind: 'end', stage: 'denoise', rank: 0 },
        { t: 5.5, kind: 'end', stage: 'denoise', rank: 1 },
        { t: 6, kind: 'begin', stage: 'denoise', rank: 0 },
        { t: 7, kind: 'end', stage: 'denoise', rank: 0 },
      ],
      10,
    );
    expect(stages.map((s) => [s.start, s.end, s.ranks])).toEqual([[0, 5.5, 2], [6, 7, 1]]);
  });
});

describe('inferred stages', () => {
  it('carry the note of their begin mark, else of their end mark, through rank merges', () => {
    const { stages } = buildStages(
      [
        { t: 0, kind: 'begin', stage: 't5_encode', inferred: 'from the line to the bar' },
        { t: 1, kind: 'end', stage: 't5_encode', inferred: 'from the line to the bar' },
        { t: 1, kind: 'begin', stage: 'denoise_step', step: 0 },
        { t: 2, kind: 'end', stage: 'denoise_step', step: 0, inferred: 'split evenly' },
        { t: 2, kind: 'begin', stage: 'save', rank: 0 },
        { t: 2.1, kind: 'begin', stage: 'save', rank: 1, inferred: 'rank 1 guessed' },
        { t: 3, kind: 'end', stage: 'save', rank: 0 },
        { t: 3, kind: 'end', stage: 'save', rank: 1 },
      ],
      10,
    );
    expect(stages.map((s) => [s.name, s.inferred ?? null])).toEqual([
      ['t5_encode', 'from the line to the bar'],
      ['denoise_step', 'split evenly'],
      ['save', 'rank 1 guessed'],
    ]);
  });
});

describe('preferExplicit', () => {
  it('keeps one copy of a stage marked by both the workload and a log preset: the workload\'s', () => {
    const marks = [
      { t: 0, kind: 'begin' as const, stage: 'init', source: 'log' },
      { t: 0.1, kind: 'begin' as const, stage: 'init', source: 'http' },
      { t: 5, kind: 'end' as const, stage: 'init', source: 'http' },
      { t: 5.2, kind: 'end' as const, stage: 'init', source: 'log' },
      { t: 5.2, kind: 'begin' as const, stage: 'save', source: 'log' },
      { t: 6, kind: 'end' as const, stage: 'save', source: 'log' },
    ];
    const { stages } = buildStages(preferExplicit(marks), 10);
    expect(stages.map((s) => [s.name, s.start, s.end])).toEqual([['init', 0.1, 5], ['save', 5.2, 6]]);
  });
});
