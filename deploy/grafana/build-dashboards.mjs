#!/usr/bin/env node
// Writes the Grafana dashboards in ./dashboards from the compact definitions below, so every
// Flux query is built one way. Run after editing: node deploy/grafana/build-dashboards.mjs
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DATASOURCE = { type: 'influxdb', uid: 'stagewatch-influx' };

const base = (measurement, where) =>
  [
    'from(bucket: v.defaultBucket)',
    '  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)',
    `  |> filter(fn: (r) => r._measurement == "${measurement}")`,
    `  |> filter(fn: (r) => ${where})`,
  ].join('\n');

const series = (measurement, where, keep, fn = 'mean') =>
  `${base(measurement, where)}\n  |> aggregateWindow(every: v.windowPeriod, fn: ${fn}, createEmpty: false)\n  |> keep(columns: ["_time", "_value", "_field", ${keep.map((k) => `"${k}"`).join(', ')}])`;

const perStage = (measurement, where, fn) =>
  `${base(measurement, where)}\n  |> group(columns: ["run", "stage", "_field"])\n  |> ${fn}()\n  |> group(columns: ["run", "_field"])`;

let nextId = 1;
const panel = (title, type, unit, targets, grid, extra = {}) => ({
  id: nextId++,
  title,
  type,
  datasource: DATASOURCE,
  gridPos: grid,
  fieldConfig: { defaults: { unit, ...(extra.defaults ?? {}) }, overrides: [] },
  options: extra.options ?? { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
  targets: targets.map((query, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, query })),
  ...(extra.description ? { description: extra.description } : {}),
});

const tagVar = (name, label, tag, predicate) => ({
  name,
  label,
  type: 'query',
  datasource: DATASOURCE,
  query: `import "influxdata/influxdb/schema"\nschema.tagValues(bucket: v.defaultBucket, tag: "${tag}"${predicate ? `, predicate: (r) => ${predicate}` : ''}, start: -30d)`,
  refresh: 2,
  sort: 1,
  includeAll: false,
  multi: false,
});

/** What every stagewatch dashboard has besides its own panels and variables. */
const dashboard = (uid, title, description, rest) => ({ uid, title, description, tags: ['stagewatch'], timezone: 'utc', schemaVersion: 39, ...rest });

const HOST = 'r.host == "${host}"';
nextId = 1;
const live = dashboard('stagewatch-live-host', 'stagewatch — live host', 'One GPU host as it runs: GPU utilization beside GPM SM activity, memory, power, CPU per core, the workload\'s own CPU, with stage boundaries as annotations.', {
  refresh: '5s',
  time: { from: 'now-15m', to: 'now' },
  templating: { list: [tagVar('host', 'Host', 'host')] },
  annotations: {
    list: [
      {
        name: 'Stages',
        enable: true,
        iconColor: 'rgba(255, 152, 48, 1)',
        datasource: DATASOURCE,
        target: {
          refId: 'Anno',
          query: `${base('stagewatch_stage', `r._field == "value" and ${HOST} and r.kind == "begin" and not exists r.step`)}\n  |> map(fn: (r) => ({_time: r._time, _value: r._value, text: r.stage + " (" + r.run + ")"}))`,
        },
      },
    ],
  },
  panels: [
    panel('GPU utilization vs SM activity (%)', 'timeseries', 'percent', [
      series('stagewatch_gpu', `r._field == "util_pct" and ${HOST}`, ['gpu']),
      series('stagewatch_gpu', `r._field == "sm_active_pct" and ${HOST}`, ['gpu']),
    ], { x: 0, y: 0, w: 12, h: 9 }, { description: 'util_pct is nvidia-smi utilization.gpu (a kernel was running); sm_active_pct is GPM SM activity (how many SMs were busy). Only Hopper and newer report SM activity.' }),
    panel('Tensor and DRAM activity (GPM, %)', 'timeseries', 'percent', [
      series('stagewatch_gpu', `(r._field == "tensor_active_pct" or r._field == "dram_active_pct") and ${HOST}`, ['gpu']),
    ], { x: 12, y: 0, w: 12, h: 9 }),
    panel('GPU memory used (MiB)', 'timeseries', 'mbytes', [series('stagewatch_gpu', `r._field == "mem_used_mib" and ${HOST}`, ['gpu'], 'max')], { x: 0, y: 9, w: 8, h: 8 }),
    panel('GPU power (W)', 'timeseries', 'watt', [series('stagewatch_gpu', `r._field == "power_w" and ${HOST}`, ['gpu'])], { x: 8, y: 9, w: 8, h: 8 }),
    panel('NVLink and PCIe (GPM, MiB/s)', 'timeseries', 'MiBs', [
      series('stagewatch_gpu', `(r._field == "nvlink_rx_mibps" or r._field == "nvlink_tx_mibps" or r._field == "pcie_rx_mibps" or r._field == "pcie_tx_mibps") and ${HOST}`, ['gpu']),
    ], { x: 16, y: 9, w: 8, h: 8 }),
    panel('Host CPU per core (%)', 'timeseries', 'percent', [series('stagewatch_host', `r._field =~ /^cpu[0-9]+_pct$/ and ${HOST}`, [])], { x: 0, y: 17, w: 12, h: 9 }, { options: { legend: { displayMode: 'hidden', showLegend: false }, tooltip: { mode: 'single' } } }),
    panel('Workload CPU (cores) and busiest core (%)', 'timeseries', 'none', [
      series('stagewatch_proc', `r._field == "cpu_cores" and ${HOST}`, ['run']),
      series('stagewatch_host', `r._field == "cpu_core_max_pct" and ${HOST}`, []),
    ], { x: 12, y: 17, w: 12, h: 9 }, { description: 'cpu_cores is the workload process tree (1.0 = one core saturated): a T5 encoder on one CPU thread shows as 1.0 while the GPU idles.' }),
    panel('Disk and network (MiB/s)', 'timeseries', 'MiBs', [
      series('stagewatch_host', `(r._field == "disk_read_mibps" or r._field == "disk_write_mibps" or r._field == "net_rx_mibps" or r._field == "net_tx_mibps") and ${HOST}`, []),
    ], { x: 0, y: 26, w: 24, h: 7 }),
  ],
});

const RUNS = '(r.run == "${run_a}" or r.run == "${run_b}")';
nextId = 1;
const compare = dashboard('stagewatch-run-compare', 'stagewatch — run comparison', 'Two runs stage by stage: how long each stage took, how busy the GPU was (utilization and SM activity), and how much CPU the workload used.', {
  time: { from: 'now-7d', to: 'now' },
  templating: { list: [tagVar('run_a', 'Run A', 'run'), tagVar('run_b', 'Run B', 'run')] },
  annotations: { list: [] },
  panels: [
    panel('Stage duration (s)', 'barchart', 's', [
      `${base('stagewatch_stage', `r._field == "duration_s" and ${RUNS} and not exists r.step`)}\n  |> group(columns: ["run", "stage"])\n  |> sum()\n  |> group(columns: ["run"])\n  |> pivot(rowKey: ["stage"], columnKey: ["run"], valueColumn: "_value")`,
    ], { x: 0, y: 0, w: 24, h: 9 }, { options: { xField: 'stage', orientation: 'horizontal', legend: { displayMode: 'list', placement: 'bottom' } } }),
    panel('Mean GPU utilization and SM activity per stage (%)', 'table', 'percent', [
      perStage('stagewatch_gpu', `(r._field == "util_pct" or r._field == "sm_active_pct") and ${RUNS} and exists r.stage`, 'mean'),
    ], { x: 0, y: 9, w: 12, h: 10 }, { options: { showHeader: true } }),
    panel('Workload CPU per stage (cores, mean)', 'table', 'none', [
      perStage('stagewatch_proc', `r._field == "cpu_cores" and ${RUNS} and exists r.stage`, 'mean'),
    ], { x: 12, y: 9, w: 12, h: 10 }, { options: { showHeader: true } }),
    panel('Peak GPU memory per stage (MiB)', 'table', 'mbytes', [
      perStage('stagewatch_gpu', `r._field == "mem_used_mib" and ${RUNS} and exists r.stage`, 'max'),
    ], { x: 0, y: 19, w: 12, h: 9 }, { options: { showHeader: true } }),
    panel('GPU energy proxy: mean power per stage (W)', 'table', 'watt', [
      perStage('stagewatch_gpu', `r._field == "power_w" and ${RUNS} and exists r.stage`, 'mean'),
    ], { x: 12, y: 19, w: 12, h: 9 }, { options: { showHeader: true } }),
  ],
});

export const DASHBOARDS = { 'live-host.json': live, 'run-compare.json': compare };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, d] of Object.entries(DASHBOARDS)) writeFileSync(path.join(here, 'dashboards', file), `${JSON.stringify(d, null, 2)}\n`);
  console.log('wrote', Object.keys(DASHBOARDS).join(', '));
}
