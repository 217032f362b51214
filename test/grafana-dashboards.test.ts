import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { GPU_METRICS, HOST_METRICS, hostCoreMetric, PROC_METRICS } from '@stagewatch/shared';
import { STAGE_FIELDS, TAGS } from '../collector/src/sinks/line-points.js';
import { ROOT } from './helpers/fixtures.js';

const GRAFANA = path.join(ROOT, 'deploy', 'grafana');
const FIELDS: Record<string, readonly string[]> = {
  stagewatch_gpu: Object.keys(GPU_METRICS),
  stagewatch_host: Object.keys(HOST_METRICS),
  stagewatch_proc: Object.keys(PROC_METRICS),
  stagewatch_stage: STAGE_FIELDS,
};
const FLUX_FUNCS = new Set(['range', 'filter', 'aggregateWindow', 'keep', 'group', 'sum', 'mean', 'max', 'map', 'pivot']);
const BUILTIN_VARS = new Set(['__interval', '__range']);

interface Dashboard {
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; query: string; datasource: { uid: string } }> };
  annotations: { list: Array<{ datasource: { uid: string }; target: { query: string } }> };
  panels: Array<{ title: string; type: string; datasource: { uid: string }; targets: Array<{ refId: string; query: string; datasource: { uid: string } }> }>;
}

const files = readdirSync(path.join(GRAFANA, 'dashboards')).filter((f) => f.endsWith('.json'));
const dashboards = files.map((f) => [f, JSON.parse(readFileSync(path.join(GRAFANA, 'dashboards', f), 'utf8')) as Dashboard] as const);
const datasource = (yaml.load(readFileSync(path.join(GRAFANA, 'provisioning', 'datasources', 'stagewatch.yaml'), 'utf8')) as { datasources: Array<{ uid: string; type: string; jsonData: { version: string } }> }).datasources[0];

function balanced(q: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let inString = false;
  for (let i = 0; i < q.length; i++) {
    const c = q[i] as string;
    if (c === '"' && q[i - 1] !== '\\') inString = !inString;
    if (inString) continue;
    if ('([{'.includes(c)) stack.push(c);
    if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return !inString && stack.length === 0;
}

/** Checks one Flux data query against what the InfluxDB sink writes; returns the problems. */
function checkDataQuery(q: string, vars: Set<string>): string[] {
  const problems: string[] = [];
  const lines = q.split('\n');
  if (lines[0] !== 'from(bucket: v.defaultBucket)') problems.push('does not start with from(bucket: v.defaultBucket)');
  if (lines[1]?.trim() !== '|> range(start: v.timeRangeStart, stop: v.timeRangeStop)') problems.push('second step is not the dashboard time range');
  for (const step of q.matchAll(/\|>\s*(\w+)\(/g)) if (!FLUX_FUNCS.has(step[1] as string)) problems.push(`unexpected Flux function ${step[1]}`);
  if (!balanced(q)) problems.push('unbalanced brackets or quotes');
  const measurements = [...q.matchAll(/r\._measurement == "([^"]+)"/g)].map((m) => m[1] as string);
  if (measurements.length !== 1) problems.push(`expected one measurement, found ${measurements.length}`);
  const m = measurements[0] ?? '';
  if (!(m in FIELDS)) problems.push(`unknown measurement ${m}`);
  for (const f of q.matchAll(/r\._field == "([^"]+)"/g)) if (!FIELDS[m]?.includes(f[1] as string)) problems.push(`${m} has no field ${f[1]}`);
  for (const f of q.matchAll(/r\._field =~ \/([^/]+)\//g)) if (!new RegExp(f[1] as string).test(hostCoreMetric(0))) problems.push(`field pattern ${f[1]} matches no per-core metric`);
  for (const t of q.matchAll(/r\.(\w+)\b/g)) {
    const tag = t[1] as string;
    if (!['_measurement', '_field', '_time', '_value'].includes(tag) && !TAGS[m]?.includes(tag)) problems.push(`${m} has no tag ${tag}`);
  }
  for (const v of q.matchAll(/\$\{(\w+)\}/g)) if (!vars.has(v[1] as string) && !BUILTIN_VARS.has(v[1] as string)) problems.push(`undefined variable ${v[1]}`);
  return problems;
}

describe('Grafana provisioning', () => {
  it('provisions an InfluxDB 2 (Flux) datasource with the uid the dashboards use', () => {
    expect(datasource).toMatchObject({ uid: 'stagewatch-influx', type: 'influxdb', jsonData: { version: 'Flux' } });
  });

  it('has the dashboards the build script makes, unchanged', async () => {
    const { DASHBOARDS } = (await import(path.join(GRAFANA, 'build-dashboards.mjs'))) as { DASHBOARDS: Record<string, unknown> };
    expect(Object.keys(DASHBOARDS).sort()).toEqual([...files].sort());
    for (const [f, d] of dashboards) expect(d, f).toEqual(DASHBOARDS[f]);
  });
});

describe.each(dashboards)('dashboard %s', (_file, d) => {
  const vars = new Set(d.templating.list.map((v) => v.name));

  it('uses the provisioned datasource everywhere', () => {
    for (const p of d.panels) {
      expect(p.datasource.uid, p.title).toBe(datasource?.uid);
      for (const t of p.targets) expect(t.datasource.uid, p.title).toBe(datasource?.uid);
    }
    for (const v of d.templating.list) expect(v.datasource.uid).toBe(datasource?.uid);
  });

  it('queries only measurements, fields and tags the sink writes, in a valid Flux shape', () => {
    expect(d.panels.length).toBeGreaterThan(3);
    for (const p of d.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(checkDataQuery(t.query, vars), `${p.title} ${t.refId}`).toEqual([]);
    }
    for (const a of d.annotations.list) expect(checkDataQuery(a.target.query, vars)).toEqual([]);
  });

  it('fills its variables from tags the sink writes', () => {
    for (const v of d.templating.list) {
      expect(v.query).toMatch(/^import "influxdata\/influxdb\/schema"\nschema\.tagValues\(bucket: v\.defaultBucket, tag: "(\w+)"/);
      const tag = /tag: "(\w+)"/.exec(v.query)?.[1] as string;
      expect(Object.values(TAGS).some((t) => t.includes(tag)), tag).toBe(true);
      expect(balanced(v.query)).toBe(true);
    }
  });

  it('catches a broken query (the checker itself works)', () => {
    const q = d.panels[0]?.targets[0]?.query as string;
    expect(checkDataQuery(q.replace(/r\._field == "\w+"/, 'r._field == "sm_util"'), vars).join()).toMatch(/has no field sm_util/);
    expect(checkDataQuery(q.replace('v.timeRangeStop)', 'v.timeRangeStop'), vars).join()).toMatch(/unbalanced/);
  });
});
