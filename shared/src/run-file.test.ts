import { describe, expect, it } from 'vitest';
import { decodeRunFileHeader, decodeRunFileMessage, encodeRunFileHeader, fieldPath, RunFileError } from './run-file.js';

const header = { format: 'stagewatch-run', version: 1, origin: 'agent', writer: 'stagewatch-agent 0.1.0', createdAt: 1, runId: 'r1' } as const;

describe('run file lines', () => {
  it('writes zod paths as a reader does', () => {
    expect(fieldPath(['samples', 3, 't'])).toBe('samples[3].t');
    expect(fieldPath(['m', 'util_pct'])).toBe('m.util_pct');
    expect(fieldPath([])).toBe('(root)');
  });

  it('reads back the header it writes, and refuses what is not one in the order that helps most', () => {
    expect(decodeRunFileHeader(encodeRunFileHeader(header), 'f: line 1')).toEqual(header);
    expect(() => decodeRunFileHeader('{"format":"other"}', 'f: line 1')).toThrow(/^f: line 1: not a stagewatch run file/);
    // A newer version is named as such even though its fields are not this version's.
    expect(() => decodeRunFileHeader('{"format":"stagewatch-run","version":2,"shiny":true}', 'f: line 1')).toThrow(/version 2 is not supported/);
    expect(() => decodeRunFileHeader(JSON.stringify({ ...header, origin: 'elsewhere' }), 'f: line 1')).toThrow(/^f: line 1: header: origin: /);
    expect(() => decodeRunFileHeader('{"format":', 'f: line 1')).toThrow(RunFileError);
  });

  it('names the line, the message type and the field of a bad message', () => {
    const batch = { type: 'batch', seq: 1, runId: null, samples: [{ t: 1, host: 'h', source: 'host', m: {} }], clock: null, loss: { batches: 0, samples: 0 } };
    expect(decodeRunFileMessage(JSON.stringify(batch), 'x')).toMatchObject({ type: 'batch', seq: 1, health: [], marks: [] });
    const bad = { ...batch, samples: [{ t: 1, host: 'h', source: 'gpu', m: {} }] };
    expect(() => decodeRunFileMessage(JSON.stringify(bad), 'f: line 7')).toThrow('f: line 7: batch: samples[0].gpu: gpu index is required on gpu samples and forbidden on others');
    expect(() => decodeRunFileMessage('{"type":"ping","id":1,"t0":1}', 'f: line 3')).toThrow('f: line 3: type: expected "hello" or "batch", got "ping"');
  });
});
