import { describe, expect, it } from 'vitest';
import { formatLogLine, levelOf, makeLogger } from './log.js';

const T = Date.UTC(2025, 0, 2, 3, 4, 5, 6);

describe('log lines', () => {
  it('text keeps the form operators read, with or without a time', () => {
    expect(formatLogLine('stagewatch-agent', 'text', 'info', 'connected', T, true)).toBe('2025-01-02T03:04:05.006Z stagewatch-agent: connected\n');
    expect(formatLogLine('stagewatch-agent', 'text', 'info', 'connected', T, false)).toBe('stagewatch-agent: connected\n');
    expect(formatLogLine('x', 'text', 'warn', 'disk slow', T, false)).toBe('x: WARNING: disk slow\n');
    expect(formatLogLine('x', 'text', 'error', 'ERROR: bad', T, false)).toBe('x: ERROR: bad\n');
  });

  it('json is one object per line with time, level, tool and the message without its level prefix', () => {
    const line = formatLogLine('stagewatch-collector', 'json', 'warn', 'WARNING: influx down', T, true);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({ time: '2025-01-02T03:04:05.006Z', level: 'warn', tool: 'stagewatch-collector', msg: 'influx down' });
  });

  it('takes the level from a WARNING:/ERROR: prefix, info otherwise', () => {
    expect(levelOf('WARNING: x')).toEqual({ level: 'warn', text: 'x' });
    expect(levelOf('ERROR:  y')).toEqual({ level: 'error', text: 'y' });
    expect(levelOf('a WARNING: in the middle')).toEqual({ level: 'info', text: 'a WARNING: in the middle' });
  });

  it('drops records below --log-level', () => {
    const lines: string[] = [];
    const log = makeLogger('t', { format: 'json', level: 'warn', write: (l) => lines.push(l), now: () => T });
    log('plain info');
    log.debug('debug');
    log('WARNING: kept');
    log.error('also kept');
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(['warn', 'error']);
  });
});
