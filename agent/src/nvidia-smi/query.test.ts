import { describe, expect, it } from 'vitest';
import { asQueryLine, captureStreamRows, CANONICAL } from '../../../test/helpers/capture.js';
import { fixture } from '../../../test/helpers/fixtures.js';
import { DEFAULT_FIELDS, METRIC_FIELDS } from './fields.js';
import { parseHelpQuery, parseQueryLine, partitionFields, queryArgs } from './query.js';

const help = parseHelpQuery(fixture('help-query-gpu.txt'));

describe('--help-query-gpu', () => {
  it('lists every field and maps aliases to the canonical name used in headers', () => {
    expect(new Set(help.values()).size).toBeGreaterThan(200);
    expect(help.get('clocks.sm')).toBe('clocks.current.sm');
    expect(help.get('gpu_uuid')).toBe('uuid');
    expect(help.get('clocks_throttle_reasons.active')).toBe('clocks_event_reasons.active');
  });

  it('knows every default field and rejects an unknown one', () => {
    const p = partitionFields([...DEFAULT_FIELDS, 'bogus.field'], help);
    expect(p.supported).toEqual(DEFAULT_FIELDS);
    expect(p.unsupported).toEqual(['bogus.field']);
  });

  it('maps every default field to a column of the captured stream', () => {
    const header = captureStreamRows()[0] as Record<string, string>;
    for (const f of DEFAULT_FIELDS) expect(header[CANONICAL[f] ?? f], f).toBeDefined();
  });
});

describe('--query-gpu stream lines from the H100 capture', () => {
  const rows = captureStreamRows();
  const parsed = rows.map((r) => parseQueryLine(asQueryLine(r, DEFAULT_FIELDS), METRIC_FIELDS));

  it('parses every one of the 631 rows', () => {
    expect(rows).toHaveLength(631);
    expect(parsed.every((p) => p.ok)).toBe(true);
  });

  it('keeps the captured values, and fan.speed [N/A] absent rather than 0', () => {
    parsed.forEach((p, i) => {
      if (!p.ok) throw new Error(p.error);
      const raw = rows[i] as Record<string, string>;
      expect(p.line.index).toBe(0);
      expect(p.line.uuid).toBe('GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba');
      expect(p.line.m.util_pct).toBe(Number(raw['utilization.gpu']));
      expect(p.line.m.mem_used_mib).toBe(Number(raw['memory.used']));
      expect(p.line.m.power_w).toBe(Number(raw['power.draw']));
      expect(p.line.m.sm_clock_mhz).toBe(Number(raw['clocks.current.sm']));
      expect(p.line.m.clock_event_reasons).toBe(Number(BigInt(raw['clocks_event_reasons.active'] as string)));
      expect(p.line.m.pstate).toBe(0);
      expect(p.line.m.mig_enabled).toBe(0);
      expect(p.line.m).not.toHaveProperty('fan_pct');
      expect(p.line.absent).toEqual({ fan_pct: '[N/A]' });
    });
    const utils = parsed.map((p) => (p.ok ? p.line.m.util_pct : -1));
    expect(utils.filter((u) => u === 100)).toHaveLength(142);
    expect(Math.max(...parsed.map((p) => (p.ok ? (p.line.m.mem_used_mib ?? 0) : 0)))).toBe(2925);
  });

  it('parses the one-shot query with and without units alike', () => {
    const fields = METRIC_FIELDS.filter((f) => f.field !== 'fan.speed');
    const names = Object.keys(rows[0] as Record<string, string>);
    // The units file has a header line; the nounits one was taken with noheader.
    for (const file of ['query-full-units.csv', 'query-full-nounits.csv']) {
      const line = fixture(file).trim().split('\n').at(-1) as string;
      const row = Object.fromEntries(line.split(', ').map((c, i) => [names[i] as string, c]));
      const p = parseQueryLine(asQueryLine(row, fields.map((f) => f.field)), fields);
      if (!p.ok) throw new Error(p.error);
      expect(p.line.m).toMatchObject({ mem_total_mib: 81559, mem_reserved_mib: 480, power_limit_w: 700, sm_clock_max_mhz: 1980 });
    }
  });

  it('rejects lines that are not data, naming what is wrong', () => {
    expect(parseQueryLine('No devices were found', METRIC_FIELDS)).toMatchObject({ ok: false, error: expect.stringContaining('columns') });
    const shifted = asQueryLine(rows[0] as Record<string, string>, DEFAULT_FIELDS).replace(/^0, /, 'x, ');
    expect(parseQueryLine(shifted, METRIC_FIELDS)).toMatchObject({ ok: false, error: expect.stringContaining('GPU index') });
  });

  it('asks for one long-running stream with index and uuid first', () => {
    expect(queryArgs(METRIC_FIELDS.slice(0, 2), 100)).toEqual([
      '--query-gpu=index,uuid,utilization.gpu,utilization.memory',
      '--format=csv,noheader,nounits',
      '-lms',
      '100',
    ]);
  });
});
