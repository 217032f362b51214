import { describe, expect, it } from 'vitest';
import { workloadOutcome } from './run.js';

describe('what run records when the workload ends', () => {
  it('a signal it died of: 128+N and the signal', () => {
    expect(workloadOutcome({ code: null, signal: 'SIGINT' }, null)).toEqual({ exitCode: 130, signal: 'SIGINT' });
    expect(workloadOutcome({ code: null, signal: 'SIGTERM' }, 'SIGTERM')).toEqual({ exitCode: 143, signal: 'SIGTERM' });
  });

  it('a code of its own after the agent forwarded a signal: its code, and interrupted', () => {
    expect(workloadOutcome({ code: 1, signal: null }, 'SIGINT')).toEqual({ exitCode: 1, signal: 'SIGINT' });
  });

  it('a normal exit: its code, no signal; no start at all: 127', () => {
    expect(workloadOutcome({ code: 0, signal: null }, null)).toEqual({ exitCode: 0, signal: null });
    expect(workloadOutcome({ code: null, signal: null, error: new Error('ENOENT') }, null)).toEqual({ exitCode: 127, signal: null });
  });
});
