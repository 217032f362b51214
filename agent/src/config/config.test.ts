import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '@stagewatch/shared';
import { tempDir } from '../../../test/helpers/agent.js';
import { daemonConfig, marksConfig, probeConfig, runConfig, sampleConfig } from './config.js';

const ENV = { PATH: '/usr/bin:/bin', XDG_STATE_HOME: '/state', HOME: '/home/x' };

describe('agent config: flags, config file, environment and defaults in one typed object', () => {
  it('daemon: defaults, the environment for the token, spool and GPU libraries', () => {
    const c = daemonConfig(['--collector', 'ws://c:7711'], { ...ENV, STAGEWATCH_TOKEN: 'env-token-123', STAGEWATCH_NVML_LIB: '/opt/libnvml.so', STAGEWATCH_DCGM_LIB: '' });
    expect(c).toMatchObject({
      collectors: ['ws://c:7711'],
      token: 'env-token-123',
      runId: null,
      intervalMs: 1000,
      batchMs: 500,
      frames: 'json',
      spoolDir: '/state/stagewatch/spool',
      spoolMaxBytes: 256 * 1024 * 1024,
      heartbeatMs: 10_000,
      backoffMaxMs: 30_000,
      drainMs: 10_000,
      gpuBackend: 'auto',
      dcgm: true,
      libraries: { searchPath: '/usr/bin:/bin', nvmlLib: '/opt/libnvml.so', dcgmLibs: ['libdcgm.so.4', 'libdcgm.so.3'] },
      logging: { format: 'text', level: 'info' },
    });
    expect(c.libraries.nvidiaSmi).toBeUndefined();
    expect(c.pid).toBeUndefined();
  });

  it('a flag overrides the config file, which overrides the environment', () => {
    const file = path.join(tempDir(), 'agent.yaml');
    writeFileSync(file, 'collector: ws://from-file:7711\ntoken: file-token-123\ninterval-ms: 250\nno-dcgm: true\n');
    const c = daemonConfig(['--config', file, '--interval-ms', '100', '--pid', '42'], { ...ENV, STAGEWATCH_TOKEN: 'env-token-123' });
    expect(c).toMatchObject({ collectors: ['ws://from-file:7711'], token: 'file-token-123', intervalMs: 100, dcgm: false, pid: 42 });
  });

  it('--collector takes several collectors, comma-separated, each checked', () => {
    expect(daemonConfig(['--collector', 'ws://a:7711, ws://b:7711'], ENV).collectors).toEqual(['ws://a:7711', 'ws://b:7711']);
    expect(() => daemonConfig(['--collector', 'ws://a:7711,b:7711'], ENV)).toThrow(/--collector must be ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ \(got b:\)/);
    expect(() => daemonConfig(['--collector', 'ws://a:7711,ws://a:7711/agent'], ENV)).toThrow(/names a collector twice/);
  });

  it('run and marks have defaults of their own; run names its run when not told', () => {
    const run = runConfig(['--collector', 'ws://c:7711', '--host', 'gpu-1', '--label', 'config=a', '--preset', 'wan'], ENV, new Date('2025-01-02T03:04:05.678Z'));
    expect(run).toMatchObject({ intervalMs: 100, drainMs: 30_000, host: 'gpu-1', labels: { config: 'a' }, stages: { preset: 'wan' } });
    expect(run.runId).toMatch(/^gpu-1-20250102T030405Z-[0-9a-f]{4}$/);
    const marks = marksConfig(['--collector', 'ws://c:7711', '--run-id', 'r1', '--shift-ms=-5', 'm.jsonl'], ENV, () => '/tmp/scratch');
    expect(marks).toMatchObject({ runId: 'r1', shiftMs: -5, file: 'm.jsonl', spoolDir: '/tmp/scratch', drainMs: 30_000 });
  });

  it('sample and probe take the GPU tools from the environment', () => {
    const env = { ...ENV, STAGEWATCH_NVIDIA_SMI: '/x/nvidia-smi', STAGEWATCH_DCGM_LIB: '/x/libdcgm.so' };
    expect(sampleConfig(['--duration-s', '1.5', '--no-dcgm'], env)).toMatchObject({ durationS: 1.5, intervalMs: 1000, dcgm: false, libraries: { nvidiaSmi: '/x/nvidia-smi', dcgmLibs: ['/x/libdcgm.so'] } });
    expect(probeConfig(['--json'], env)).toMatchObject({ json: true, fingerprint: false, dcgm: true, libraries: { nvidiaSmi: '/x/nvidia-smi', nvmlLib: 'libnvidia-ml.so.1' } });
  });

  it.each([
    [[], /^--collector URL is required$/],
    [['--collector', 'nope'], /--collector "nope" is not a URL/],
    [['--collector', 'ws://c', '--interval-ms', '5'], /^--interval-ms must be an integer from 10 to 60000 \(got "5"\)$/],
    [['--collector', 'ws://c', '--spool-max-mib', 'lots'], /^--spool-max-mib must be a number from 0.01 to 1048576 \(got "lots"\)$/],
    [['--collector', 'ws://c', '--gpu-backend', 'cuda'], /^--gpu-backend must be one of auto, nvml, nvidia-smi \(got "cuda"\)$/],
    [['--collector', 'ws://c', '--frames', 'binary'], /^--frames must be one of json, columnar \(got "binary"\)$/],
    [['--collector', 'ws://c', '--run-id', 'a b'], /^--run-id "a b": use 1-128 letters, digits and \._:@-$/],
    [['--collector', 'ws://c', '--host', ' '], /^--host must not be empty$/],
    [['--collector', 'ws://c', '--log-level', 'loud'], /^--log-level must be one of debug, info, warn, error \(got "loud"\)$/],
  ])('daemon %j: a UsageError naming the flag', (argv, message) => {
    expect(() => daemonConfig(argv, ENV)).toThrow(UsageError);
    expect(() => daemonConfig(argv, ENV)).toThrow(message);
  });

  it('--out FILE: with --collector or alone (then no collector), never a file that exists; sample --out names its run', () => {
    const dir = tempDir();
    const file = path.join(dir, 'r.swrun.gz');
    expect(daemonConfig(['--out', file], ENV)).toMatchObject({ collectors: [], out: file });
    expect(runConfig(['--collector', 'ws://c:7711', '--out', file], ENV)).toMatchObject({ collectors: ['ws://c:7711'], out: file });
    expect(marksConfig(['--out', file, '--run-id', 'r1', 'm.jsonl'], ENV, () => '/tmp/scratch')).toMatchObject({ collectors: [], out: file, runId: 'r1' });
    expect(sampleConfig(['--duration-s', '1', '--out', file, '--run-id', 'rec'], ENV).out).toEqual({ file, runId: 'rec' });
    expect(sampleConfig(['--duration-s', '1', '--host', 'gpu-1', '--out', file], ENV, new Date('2025-01-02T03:04:05Z')).out?.runId).toMatch(/^gpu-1-20250102T030405Z-[0-9a-f]{4}$/);
    expect(sampleConfig(['--duration-s', '1'], ENV).out).toBeUndefined();
    writeFileSync(file, '');
    for (const config of [() => daemonConfig(['--out', file], ENV), () => sampleConfig(['--duration-s', '1', '--out', file], ENV)]) {
      expect(config).toThrow(UsageError);
      expect(config).toThrow(/^--out .*r\.swrun\.gz: exists already; give a new file name \(a recording is never overwritten\)$/);
    }
    expect(() => sampleConfig(['--duration-s', '1', '--run-id', 'x'], ENV)).toThrow(/^--run-id names the run in an --out file: give --out FILE too$/);
  });

  it('sample without --duration-s, marks without a run: UsageErrors that say so', () => {
    expect(() => sampleConfig([], ENV)).toThrow(/^--duration-s is required$/);
    expect(() => marksConfig(['--collector', 'ws://c', 'f'], ENV)).toThrow(/--run-id is required: marks belong to a run/);
    expect(() => runConfig(['--collector', 'ws://c', '--label', 'nokey'], ENV)).toThrow(/--label "nokey": give key=value/);
  });
});
