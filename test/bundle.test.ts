import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeResultSchema } from '@stagewatch/shared';
import { startCollector, type Collector } from '../collector/src/server.js';
import { tempDir } from './helpers/agent.js';
import { FAKE_SMI, ROOT } from './helpers/fixtures.js';
import { waitFor } from './helpers/processes.js';

let dir: string;
let collector: Collector;
beforeAll(async () => {
  // The bundle, alone in an empty directory: no node_modules anywhere above it.
  dir = tempDir('stagewatch-bundle-');
  await execa(process.execPath, [path.join(ROOT, 'scripts', 'bundle.mjs'), path.join(dir, 'agent.mjs')]);
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: () => {} });
}, 120_000);
afterAll(async () => collector.close());

describe('single-file agent bundle', () => {
  it('says its version and has --help on every command, with no package.json to read', async () => {
    const { VERSION } = await import('@stagewatch/shared');
    expect((await execa(process.execPath, ['agent.mjs', '--version'], { cwd: dir })).stdout).toBe(`stagewatch-agent ${VERSION}`);
    for (const cmd of ['probe', 'sample', 'daemon', 'run', 'marks']) {
      expect((await execa(process.execPath, ['agent.mjs', cmd, '--help'], { cwd: dir })).stdout, cmd).toMatch(new RegExp(`^usage: stagewatch-agent ${cmd}`));
    }
  });

  it('probes with only `node agent.mjs`', async () => {
    const r = await execa(process.execPath, ['agent.mjs', 'probe', '--json'], { cwd: dir, env: { STAGEWATCH_NVIDIA_SMI: FAKE_SMI, STAGEWATCH_FAKE_SMI_SPEED: '20', NODE_PATH: '' } });
    const p = ProbeResultSchema.parse(JSON.parse(String(r.stdout)));
    expect(p.gpus[0]?.name).toBe('NVIDIA H100 80GB HBM3');
    expect(p.gpm).toBe(true);
  });

  it('streams a staged run to a collector, with the built-in wan preset inside it', async () => {
    const r = await execa(
      process.execPath,
      ['agent.mjs', 'run', '--collector', `ws://127.0.0.1:${collector.port}`, '--run-id', 'bundled', '--preset', 'wan', '--spool-dir', path.join(dir, 'spool'), '--', process.execPath, path.join(ROOT, 'test/fixtures/replay-workload.mjs')],
      { cwd: dir, env: { STAGEWATCH_NVIDIA_SMI: FAKE_SMI, STAGEWATCH_FAKE_SMI_SPEED: '20', SPEED: '20' } },
    );
    expect(r.exitCode).toBe(0);
    await waitFor('the run stored', () => collector.store.listRuns().find((x) => x.id === 'bundled' && x.endedAt !== null));
    const samples = [...collector.store.samples('bundled')];
    expect(samples.some((s) => s.source === 'gpu' && s.m.util_pct !== undefined)).toBe(true);
    expect(samples.some((s) => s.source === 'proc')).toBe(true);
    expect(collector.store.marks('bundled').map((m) => m.stage)).toContain('denoise');
  });
});
