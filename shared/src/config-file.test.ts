import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from './cli-args.js';
import { readConfigFile } from './config-file.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};
const FLAGS = { config: { type: 'string' }, collector: { type: 'string' }, 'interval-ms': { type: 'string' }, json: { type: 'boolean' } } as const;

describe('config files', () => {
  it('reads YAML and JSON with the long flag names as keys; numbers become flag text', () => {
    expect(readConfigFile(file('a.yaml', 'collector: ws://c:7711\ninterval-ms: 250\njson: true\n'), FLAGS)).toEqual({ collector: 'ws://c:7711', 'interval-ms': '250', json: true });
    expect(readConfigFile(file('a.json', '{"collector": "ws://c:7711"}'), FLAGS)).toEqual({ collector: 'ws://c:7711' });
    expect(readConfigFile(file('empty.yaml', ''), FLAGS)).toEqual({});
  });

  it('flags given on the command line override the file', () => {
    const f = file('b.yaml', 'collector: ws://from-file:7711\ninterval-ms: 250\n');
    const { values } = parseFlags(['--config', f, '--interval-ms', '100'], FLAGS);
    expect(values).toMatchObject({ collector: 'ws://from-file:7711', 'interval-ms': '100' });
  });

  it('a repeatable flag (run --label) takes a list or one value; the command line replaces the file\'s', () => {
    const RUN = { config: { type: 'string' }, label: { type: 'string', multiple: true } } as const;
    expect(readConfigFile(file('l1.yaml', 'label: [config=fsdp, model=t2v]\n'), RUN)).toEqual({ label: ['config=fsdp', 'model=t2v'] });
    expect(readConfigFile(file('l2.yaml', 'label: config=fsdp\n'), RUN)).toEqual({ label: ['config=fsdp'] });
    expect(() => readConfigFile(file('l3.yaml', 'label: {config: fsdp}\n'), RUN)).toThrow(/--config .*l3\.yaml: label: /);
    const f = file('l4.yaml', 'label: [config=fsdp, model=t2v]\n');
    expect(parseFlags(['--config', f], RUN).values.label).toEqual(['config=fsdp', 'model=t2v']);
    expect(parseFlags(['--config', f, '--label', 'config=ulysses'], RUN).values.label).toEqual(['config=ulysses']);
  });

  it.each([
    ['c.yaml', 'colector: ws://c:7711\n', /--config .*c\.yaml: unknown key "colector" \(known: collector, interval-ms, json\)/],
    ["d.yaml", "json: \"yes\"\n", /--config .*d\.yaml: json: expected true or false/],
    ['e.yaml', 'collector: [1, 2]\n', /--config .*e\.yaml: collector: expected text or a number/],
    ['f.yaml', 'collector: "x\n  - :', /--config .*f\.yaml: not valid YAML or JSON/],
    ['g.yaml', '- a\n- b\n', /--config .*g\.yaml: \(root\): /],
  ])('%s: a clear error naming the file and key', (name, text, message) => {
    expect(() => readConfigFile(file(name, text), FLAGS)).toThrow(message);
  });

  it('a missing file is named', () => {
    expect(() => readConfigFile(path.join(dir, 'nope.yaml'), FLAGS)).toThrow(/--config .*nope\.yaml: ENOENT/);
  });
});
