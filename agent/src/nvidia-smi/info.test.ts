import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.js';
import { parseVersion } from './info.js';

describe('nvidia-smi one-shot outputs', () => {
  it('reads the version', () => {
    expect(parseVersion(fixture('version.txt'))).toBe('580.159.04');
    expect(parseVersion(fixture('q.txt'))).toBeNull();
  });
});
