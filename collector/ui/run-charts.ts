import type uPlot from 'uplot';
import { alignLines, makeChart, TIME_ZONE, type Band, type ChartSpec, type LineData } from './charts.js';
import type { Series } from '../src/report/series.js';
import { h } from './dom.js';
import { alignTo, stageBar, type BarStage } from './timebar.js';


/** Beyond this many GPUs, utilization and SM activity get a small chart per GPU instead of one crowded chart. */
export const SMALL_MULTIPLES_OVER = 4;

const gpuIndexes = (keys: readonly string[]): number[] =>
  [...new Set(keys.map((k) => /^gpu(\d+)\./.exec(k)?.[1]).filter((x): x is string => x !== undefined).map(Number))].sort((a, b) => a - b);

/** The charts of one host's run, each of one unit; which exist depends on what was sampled. */
export function runChartSpecs(keys: readonly string[]): { wide: ChartSpec[]; perGpu: ChartSpec[] } {
  const has = (k: string): boolean => keys.includes(k);
  const gpus = gpuIndexes(keys);
  const gpuKeys = (metric: string): string[] => gpus.map((g) => `gpu${g}.${metric}`).filter(has);
  const activity = (gs: number[]): string[] => gs.flatMap((g) => [`gpu${g}.util_pct`, `gpu${g}.sm_active_pct`]).filter(has);
  const many = gpus.length > SMALL_MULTIPLES_OVER;
  const wide: ChartSpec[] = [
    ...(many ? [] : [{ title: 'GPU utilization and SM activity (dashed)', keys: activity(gpus), dashed: (k: string) => k.includes('sm_active') }]),
    { title: 'GPU memory used', keys: gpuKeys('mem_used_mib') },
    { title: 'GPU power', keys: gpuKeys('power_w') },
    { title: 'Host CPU', keys: ['host.cpu_pct', 'host.cpu_core_max_pct'].filter(has) },
    { title: 'Workload CPU', keys: ['proc.cpu_cores'].filter(has) },
    { title: 'Host memory', keys: ['host.mem_used_mib'].filter(has) },
    { title: 'Disk', keys: ['host.disk_read_mibps', 'host.disk_write_mibps'].filter(has) },
    { title: 'Network', keys: ['host.net_rx_mibps', 'host.net_tx_mibps'].filter(has) },
  ].filter((c) => c.keys.length > 0);
  const perGpu = many ? gpus.map((g) => ({ title: `GPU ${g}: utilization and SM activity (dashed)`, keys: activity([g]), dashed: (k: string) => k.includes('sm_active'), height: 150 })).filter((c) => c.keys.length > 0) : [];
  return { wide, perGpu };
}

/**
 * A host's run as Grafana would show it: one stage bar on the same time axis as every chart
 * under it (UTC), a chart per unit, small multiples per GPU beyond four GPUs.
 */
export function runCharts(section: HTMLElement, series: Series, stages: readonly BarStage[], width: number): uPlot[] {
  const keys = Object.keys(series.lines);
  if (keys.length === 0) {
    section.append(h('p', { class: 'muted' }, 'No samples stored for this host.'));
    return [];
  }
  const range = (): [number, number] => [series.start / 1000, series.end / 1000];
  const bands: Band[] = stages.map((s) => ({ name: s.name, start: s.start / 1000, end: s.end / 1000 }));
  const lines = new Map<string, LineData>(keys.map((k) => [k, { key: k, t: (series.lines[k]?.t ?? []).map((t) => t / 1000), v: series.lines[k]?.v ?? [] }]));
  const { wide, perGpu } = runChartSpecs(keys);
  section.append(h('p', { class: 'muted axis-note' }, `Times in ${TIME_ZONE}; the stage bar and every chart share one time axis.`));
  const bar = stageBar(stages, [series.start, series.end], width);
  section.append(bar);
  const plots: uPlot[] = [];
  const place = (container: HTMLElement, spec: ChartSpec, w: number): void => {
    const el = h('div', { class: 'chart', 'data-title': spec.title });
    container.append(el);
    const plot = makeChart(el, spec, () => bands, range, w);
    plot.setData(alignLines(spec.keys, lines));
    plots.push(plot);
  };
  for (const spec of wide) place(section, spec, width);
  if (perGpu.length > 0) {
    const grid = h('div', { class: 'small-multiples' });
    section.append(h('h3', {}, 'Per GPU'), grid);
    const w = Math.floor((width - 16) / 2);
    for (const spec of perGpu) place(grid, spec, w);
  }
  alignTo(bar, plots[0]?.over);
  return plots;
}
