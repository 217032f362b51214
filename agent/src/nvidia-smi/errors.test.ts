import { describe, expect, it } from 'vitest';
import { fixture, GPM_EXTRA } from '../../../test/helpers/fixtures.js';
import { classifySmiFailure } from './errors.js';

const exitOf = (text: string): number => Number(/exit=(\d+)/.exec(text)?.[1]);

describe('nvidia-smi failures from real outputs', () => {
  it('names the rejected field', () => {
    const t = fixture('err-bogus-field.txt');
    expect(classifySmiFailure(t, exitOf(t))).toEqual({
      code: 'invalid-field',
      field: 'bogus.field',
      message: 'Field "bogus.field" is not a valid field to query (exit 2)',
    });
  });

  it('knows a host with no (such) GPU', () => {
    for (const [t, dir] of [[fixture('err-no-gpu.txt'), 'query'], [fixture('err-dmon-no-gpu.txt', GPM_EXTRA), 'dmon']] as const) {
      expect(classifySmiFailure(t, exitOf(t)), dir).toEqual({ code: 'no-devices', message: 'No devices were found (exit 6)' });
    }
  });

  it('knows a GPM id the driver refuses', () => {
    const t = fixture('err-gpm-bad-id.txt', GPM_EXTRA);
    expect(classifySmiFailure(t, exitOf(t))).toMatchObject({ code: 'gpm-invalid', message: 'Metric value too high: 999 (exit 255)' });
  });

  it('reports a missing binary and unknown output plainly', () => {
    expect(classifySmiFailure('', null, 'ENOENT')).toEqual({ code: 'not-found', message: 'nvidia-smi not found' });
    const t = fixture('err-dmon-d0.txt', GPM_EXTRA);
    expect(classifySmiFailure(t, 0)).toMatchObject({ code: 'failed', message: expect.stringContaining('Collection delay/interval should be between') });
  });
});
