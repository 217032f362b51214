import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotFoundError, UsageError } from '@stagewatch/shared';
import { compareConfig, reportConfig, serveConfig } from './config.js';

describe('collector config: flags, config file, environment and defaults in one typed object', () => {
  it('serve: defaults, and STAGEWATCH_TOKEN and STAGEWATCH_INFLUX_* where no flag is given', () => {
    expect(serveConfig([], {})).toEqual({
      host: '127.0.0.1',
      port: 7711,
      dataDir: './stagewatch-data',
      tokens: null,
      heartbeatMs: 10_000,
      helloTimeoutMs: 10_000,
      maxPayloadBytes: 16 * 1024 * 1024,
      influx: null,
      logging: { format: 'text', level: 'info' },
      retention: { rawMs: 0, oneSecondMs: 0, tenSecondMs: 0 },
    });
    const env = { STAGEWATCH_TOKEN: 'env-token-123', STAGEWATCH_INFLUX_URL: 'http://vm:8428', STAGEWATCH_INFLUX_ORG: 'o', STAGEWATCH_INFLUX_BUCKET: 'b' };
    const c = serveConfig(['--host', '0.0.0.0', '--influx-bucket', 'flag-bucket'], env);
    expect(c.tokens).toEqual({ token: 'env-token-123' });
    expect(c.influx).toEqual({ url: 'http://vm:8428', token: '', org: 'o', bucket: 'flag-bucket' });
    // A tokens file wins over the environment's token.
    expect(serveConfig(['--tokens-file', '/etc/tokens'], env).tokens).toEqual({ file: '/etc/tokens' });
  });

  it.each([
    [['--host', '0.0.0.0'], /^--host 0.0.0.0 is not a loopback address: --token or --tokens-file is required$/],
    [['--token', 'short'], /^--token must be at least 8 characters$/],
    [['--token', 'long-enough-1', '--tokens-file', 'f'], /^give --token or --tokens-file, not both$/],
    [['--tls-cert', 'c.pem'], /^--tls-cert and --tls-key go together$/],
    [['--port', '70000'], /^--port must be an integer from 0 to 65535 \(got "70000"\)$/],
    [['--influx-org', 'o'], /^--influx-url is required with the other --influx-\* flags$/],
    [['--influx-url', 'ftp://x', '--influx-org', 'o', '--influx-bucket', 'b'], /^--influx-url "ftp:\/\/x" is not an http\(s\) URL$/],
    [['--retain-raw', '7'], /^--retain-raw must be 0 \(keep for good\) or a duration of at least 1m such as 7d, 36h or 90m \(got "7"\)$/],
    [['--retain-1s', '30s'], /^--retain-1s must be 0 \(keep for good\) or a duration of at least 1m/],
    [['--retain-10s', '1.5d'], /^--retain-10s must be 0 \(keep for good\) or a duration/],
    [['--retain-raw', '7d', '--retain-1s', '1d'], /^--retain-1s 1d is shorter than --retain-raw 7d: a coarser resolution is kept at least as long as a finer one \(0 keeps it for good\)$/],
    [['--retain-raw', '7d', '--retain-10s', '2w'], /^--retain-10s 14d is shorter than --retain-1s 30d/],
    [['--store', 'pg.example:5432/db'], /^--store "pg.example:5432\/db": only postgres:\/\/ \(or postgresql:\/\/\) URLs are stores; the SQLite store is --data DIR$/],
    [['--store', 'not a url'], /^--store "not a url" is not a URL: give postgres:\/\/USER@HOST\[:PORT\]\/DB$/],
    [['--store', 'mysql://u:secret@h/db'], /^--store "mysql:\/\/u:\*\*\*@h\/db": only postgres/],
    [['--store', 'postgres://u@h/db', '--data', 'd'], /^give --data DIR \(the SQLite store\) or --store postgres:\/\/\.\.\. \(PostgreSQL\), not both$/],
    [['--store', 'postgres://u@h/db', '--influx-url', 'http://vm:8428', '--influx-org', 'o', '--influx-bucket', 'b'], /^--influx-url does not run with --store postgres:\/\/\.\.\.: the InfluxDB sink reads the SQLite store/],
  ])('serve %j: a UsageError naming the flag', (argv, message) => {
    expect(() => serveConfig(argv, {})).toThrow(UsageError);
    expect(() => serveConfig(argv, {})).toThrow(message);
  });

  it('serve: retention flags in ms, 0 keeping a resolution for good; --retain-1s follows a longer --retain-raw', () => {
    expect(serveConfig(['--retain-raw', '36h', '--retain-1s', '2w', '--retain-10s', '90d'], {}).retention).toEqual({ rawMs: 36 * 3_600_000, oneSecondMs: 14 * 86_400_000, tenSecondMs: 90 * 86_400_000 });
    expect(serveConfig(['--retain-raw', '60d'], {}).retention).toEqual({ rawMs: 60 * 86_400_000, oneSecondMs: 60 * 86_400_000, tenSecondMs: 0 });
    expect(serveConfig(['--retain-raw', '0'], {}).retention).toEqual({ rawMs: 0, oneSecondMs: 0, tenSecondMs: 0 });
    expect(serveConfig(['--retain-raw', '90m', '--retain-1s', '0'], {}).retention).toEqual({ rawMs: 90 * 60_000, oneSecondMs: 0, tenSecondMs: 0 });
    // A config file's keys, a bare 0 among them; a flag overrides the file.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-config-'));
    try {
      const file = path.join(dir, 'collector.yaml');
      writeFileSync(file, 'retain-raw: 14d\nretain-1s: 0\n');
      expect(serveConfig(['--config', file], {}).retention).toEqual({ rawMs: 14 * 86_400_000, oneSecondMs: 0, tenSecondMs: 0 });
      expect(serveConfig(['--config', file, '--retain-raw', '2d'], {}).retention.rawMs).toBe(2 * 86_400_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    });

  it('serve --store: a PostgreSQL URL, from the flag or STAGEWATCH_PG_URL (the flag wins)', () => {
    expect(serveConfig(['--store', 'postgres://u@h/db'], {}).pgUrl).toBe('postgres://u@h/db');
    // Retention runs on PostgreSQL too (docs/STORE.md).
    expect(serveConfig(['--store', 'postgres://u@h/db', '--retain-raw', '7d'], {}).retention.rawMs).toBe(7 * 86_400_000);
    expect(serveConfig([], { STAGEWATCH_PG_URL: 'postgresql://u@h:5433/db' }).pgUrl).toBe('postgresql://u@h:5433/db');
    expect(serveConfig(['--store', 'postgres://u@h/flag'], { STAGEWATCH_PG_URL: 'postgres://u@h/env' }).pgUrl).toBe('postgres://u@h/flag');
    expect(serveConfig([], { STAGEWATCH_PG_URL: '' })).not.toHaveProperty('pgUrl');
    expect(reportConfig(['r1', '--store', 'postgres://u@h/db']).pgUrl).toBe('postgres://u@h/db');
    expect(compareConfig(['--baseline', 'a', 'a', 'b', '--store', 'postgres://u@h/db']).pgUrl).toBe('postgres://u@h/db');
    expect(() => reportConfig(['r1', '--store', 'postgres://u@h/db', '--data', 'd'])).toThrow(/not both/);
  });

  it('report and compare', () => {
    expect(reportConfig(['r1', '--format', 'json', '--vs', 'r0'])).toEqual({ runId: 'r1', vs: 'r0', format: 'json', dataDir: './stagewatch-data' });
    expect(() => reportConfig(['r1', '--format', 'pdf'])).toThrow(/^--format must be one of json, md, html \(got "pdf"\)$/);
    expect(() => reportConfig([])).toThrow(/give exactly one run id \(got 0\)/);
    expect(compareConfig(['--baseline', 'a', 'a', 'b', '--by', 'run', '--data', 'd'])).toEqual({ request: { baseline: 'a', runs: ['a', 'b'], by: 'run', confidence: 0.95 }, format: 'md', dataDir: 'd' });
    expect(() => compareConfig(['--baseline', 'a', 'a'])).toThrow(/give the runs to compare with the baseline after the flags/);
  });

  it('not-found is a usage error of its own kind (exit 2, HTTP 404)', () => {
    const e = new NotFoundError('no run "x" in the store');
    expect(e).toBeInstanceOf(UsageError);
    expect(UsageError.exitCode).toBe(2);
  });
});
