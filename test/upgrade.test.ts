/**
 * A data directory written by an earlier release (test/fixtures/datadir-v<N>/, made by
 * scripts/make-datadir-fixture.mjs at that release) opens with this code and gives the same
 * answers that release gave: the reports byte for byte, the run list and the chart series.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../collector/src/analysis/thresholds.js';
import { makeReport, renderReport } from '../collector/src/report/index.js';
import { bucketSeriesFromStore } from '../collector/src/report/series.js';
import { SCHEMA_VERSION } from '../collector/src/store/schema.js';
import { SqliteStore } from '../collector/src/store/sqlite.js';
import { tempDir } from './helpers/agent.js';
import { FIXTURES } from './helpers/fixtures.js';

const releases = readdirSync(FIXTURES).filter((d) => /^datadir-v\d+$/.test(d)).sort();

describe.each(releases)('the data directory of %s', (release) => {
  const fixture = path.join(FIXTURES, release);
  const read = (name: string): string => readFileSync(path.join(fixture, name), 'utf8');
  const runs = JSON.parse(read('runs.json')) as Array<{ id: string; hosts: string[] }>;
  let store: SqliteStore;
  let dir = '';
  let bytesBefore = 0;
  let versionBefore = 0;

  beforeAll(() => {
    dir = tempDir('stagewatch-upgrade-');
    execFileSync('tar', ['-xzf', path.join(fixture, 'datadir.tar.gz'), '-C', dir]);
    bytesBefore = statSync(path.join(dir, 'stagewatch.sqlite')).size;
    const db = new Database(path.join(dir, 'stagewatch.sqlite'), { readonly: true });
    versionBefore = db.pragma('user_version', { simple: true }) as number;
    db.close();
    // As `report` opens it: the store must be there.
    store = new SqliteStore(dir, { mustExist: true });
  });
  afterAll(() => store?.close());

  it('lists the same runs', () => {
    expect(`${JSON.stringify(store.listRuns(), null, 1)}\n`).toBe(read('runs.json'));
  });

  it.each(runs.map((r) => r.id))('gives run %s the same report, JSON and markdown', (id) => {
    const report = makeReport(store, id);
    expect(renderReport(report, 'json', store)).toBe(read(`report-${id}.json`));
    expect(renderReport(report, 'md', store)).toBe(read(`report-${id}.md`));
  });

  it.each(runs.map((r) => [r.id, r.hosts] as const))('gives run %s the same chart series', (id, hosts) => {
    const want = JSON.parse(read(`series-${id}.json`)) as Record<string, unknown>;
    // As GET /api/runs/:id/series?host= answers with its default of 600 points.
    for (const h of hosts) expect(JSON.parse(JSON.stringify(bucketSeriesFromStore(store, id, h, 600, DEFAULT_THRESHOLDS.gpmLagMs)))).toEqual(want[h]);
  });

  it('is at this code\'s schema version after the upgrade, opens again with nothing left to do, and gives the same report', () => {
    store.close();
    const db = new Database(path.join(dir, 'stagewatch.sqlite'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    // Samples as blocks (schema version 7) take less room than rows, and the upgrade gives the freed pages back.
    if (versionBefore < 7) expect(statSync(path.join(dir, 'stagewatch.sqlite')).size).toBeLessThan(bytesBefore);
    store = new SqliteStore(dir, { mustExist: true });
    const id = runs[0]?.id as string;
    expect(renderReport(makeReport(store, id), 'json', store)).toBe(read(`report-${id}.json`));
  });
});
