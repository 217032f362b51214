import { describe, expect, it } from 'vitest';
import { emptyReportNote } from './report/empty.js';
import { runOutcome } from './report/outcome.js';
import { listenMessage } from './server.js';
import { thin } from './live.js';
import type { Sample } from '@stagewatch/shared';

describe('how a run ended, in words', () => {
  it.each([
    [{ endedAt: 1, exitCode: 130, signal: 'SIGINT' }, 'interrupted by SIGINT (exit 130)'],
    [{ endedAt: 1, exitCode: 143, signal: 'SIGTERM' }, 'interrupted by SIGTERM (exit 143)'],
    [{ endedAt: 1, exitCode: 0, signal: null }, 'exit 0'],
    [{ endedAt: 1, exitCode: 3 }, 'exit 3'],
    [{ endedAt: null, exitCode: null, signal: null }, 'running or cut off (no end recorded)'],
    [{ endedAt: 5, exitCode: null, signal: null }, ''],
  ])('%j → %s', (run, text) => {
    expect(runOutcome(run)).toBe(text);
  });
});

describe('an empty report says why', () => {
  const run = (kind: string, hosts: string[]) => ({ id: 'r', kind, hosts, startedAt: 0, endedAt: null, exitCode: null });
  it('a timeline has no stages; a run may have no marks or no data at all', () => {
    expect(emptyReportNote({ run: run('timeline', ['h']), hosts: [{ stages: [] }] } as never)).toMatch(/^run r has no stages \(it is a host timeline/);
    expect(emptyReportNote({ run: run('run', ['h']), hosts: [{ stages: [] }] } as never)).toBe('run r has no stages (no stage marks arrived for it), so the stage tables are empty');
    expect(emptyReportNote({ run: run('run', []), hosts: [] } as never)).toBe('run r has no data: no agent has sent samples or marks to it');
    expect(emptyReportNote({ run: run('run', ['h']), hosts: [{ stages: [{}] }] } as never)).toBeNull();
  });
});

describe('listen errors in words', () => {
  it.each([
    ['EADDRINUSE', /the port is in use \(another collector\?\); stop it or give another --port \(EADDRINUSE\)$/],
    ['EACCES', /permission denied \(ports below 1024 need privileges\); give a --port of 1024 or more \(EACCES\)$/],
    ['EADDRNOTAVAIL', /no interface on this machine has that address; check --host \(EADDRNOTAVAIL\)$/],
    ['EWHATEVER', /^cannot listen on h:1: boom \(EWHATEVER\)$/],
  ])('%s', (code, message) => {
    expect(listenMessage(Object.assign(new Error('boom'), { code }), 'h', 1)).toMatch(message);
  });
});

describe('live backfill thinning', () => {
  it('keeps every k-th sample per (source, GPU) so none has more than the cap, first sample kept', () => {
    const s = (i: number, source: Sample['source'], gpu?: number): Sample => ({ t: i, host: 'h', source, ...(gpu !== undefined ? { gpu } : {}), m: { x: i } }) as Sample;
    const samples = [...Array.from({ length: 100 }, (_, i) => s(i, 'gpu', 0)), ...Array.from({ length: 10 }, (_, i) => s(i, 'host'))];
    const out = thin(samples, 30);
    expect(out.filter((x) => x.source === 'gpu').length).toBe(25);
    expect(out.filter((x) => x.source === 'host').length).toBe(10);
    expect(out[0]?.t).toBe(0);
  });
});
