import { describe, expect, it } from 'vitest';
import { parseEnabledCell, parseHexCell, parseNumberCell, parsePstateCell } from './values.js';

describe('nvidia-smi cells', () => {
  it.each(['[N/A]', '[Not Supported]', '[Unknown Error]', '[GPU is lost]', '-', 'N/A', ''])(
    'reads %j as absent with its reason, never 0',
    (raw) => {
      const c = parseNumberCell(raw);
      expect(c.ok).toBe(false);
      if (!c.ok) expect(c.reason).toBe(raw === '' ? 'empty' : raw);
    },
  );

  it('reads numbers with and without units', () => {
    expect(parseNumberCell(' 74.13 W')).toEqual({ ok: true, value: 74.13 });
    expect(parseNumberCell('81559 MiB')).toEqual({ ok: true, value: 81559 });
    expect(parseNumberCell('0 %')).toEqual({ ok: true, value: 0 });
    expect(parseNumberCell('12abc3')).toEqual({ ok: false, reason: 'unparseable' });
  });

  it('reads bitmasks, pstates and Enabled/Disabled', () => {
    expect(parseHexCell('0x0000000000000001')).toEqual({ ok: true, value: 1 });
    expect(parseHexCell('0x0000000000000004')).toEqual({ ok: true, value: 4 });
    expect(parsePstateCell('P8')).toEqual({ ok: true, value: 8 });
    expect(parseEnabledCell('Enabled')).toEqual({ ok: true, value: 1 });
    expect(parseEnabledCell('Disabled')).toEqual({ ok: true, value: 0 });
    expect(parseEnabledCell('[N/A]')).toEqual({ ok: false, reason: '[N/A]' });
  });
});
