import type uPlot from 'uplot';
import type { ReportJsonBody } from '../src/report/index.js';
import type { Series } from '../src/report/series.js';
import { fingerprintText } from '../src/report/fingerprint-text.js';
import { leafIntervals } from '../src/report/leaves.js';
import { runOutcome } from '../src/report/outcome.js';
import { breakdownSection, headlineTable } from './breakdown.js';
import { badge, fmt, getJson, h } from './dom.js';
import { runCharts } from './run-charts.js';
import { sharesBar } from './shares.js';
import { duration, utc } from './time-format.js';

type HostJson = ReportJsonBody['hosts'][number];
type StageJson = HostJson['stages'][number];

export interface RunState {
  page: 'run';
  stages: number;
  compareRows: number;
  charts: number;
}

/** "8× NVIDIA H100 80GB HBM3" rather than eight repeats; mixed models listed by index. */
const gpuSummary = (gpus: HostJson['gpus']): string => {
  if (gpus.length === 0) return 'no GPUs';
  const names = [...new Set(gpus.map((g) => g.name))];
  return names.length === 1 ? `${gpus.length}× ${names[0]}` : gpus.map((g) => `GPU ${g.index} ${g.name}`).join(', ');
};

/** Leaf stages (holding no other) make the bands and the timeline. */
const leaves = (stages: StageJson[]): StageJson[] => leafIntervals(stages, (s) => s.start_ms, (s) => s.end_ms);

function stageTable(host: HostJson): HTMLElement {
  const rows = host.stages.map((s) =>
    h(
      'tr',
      {},
      h(
        'td',
        { class: `depth${s.depth}` },
        s.name,
        s.inferred ? h('small', { class: 'inferred', title: s.inferred }, ' (inferred)') : null,
        s.steps ? h('small', {}, ` (${s.steps.count} steps, ${s.steps.duration_s.mean.toFixed(2)} s each${s.steps.inferred > 0 ? `; ${s.steps.inferred} split evenly` : ''})`) : null,
      ),
      h('td', { class: 'num' }, s.duration_s.toFixed(1)),
      h('td', { class: 'num' }, s.gpus.map((g) => fmt(g.util_pct?.mean)).join(' · ') || '–'),
      h('td', { class: 'num' }, s.gpus.map((g) => fmt(g.sm_active_pct?.mean)).join(' · ') || '–'),
      h('td', { class: 'num' }, s.gpus.map((g) => fmt(g.mem_used_mib.max)).join(' · ') || '–'),
      h('td', { class: 'num' }, `${fmt(s.proc.cpu_cores.mean, 2)} / ${fmt(s.proc.cpu_cores.max, 2)}`),
      h('td', {}, sharesBar(s.shares, s.no_data_s)),
      h('td', {}, badge(s.bottleneck)),
      h('td', { class: 'evidence' }, s.evidence, s.inferred ? h('div', { class: 'inferred' }, `inferred: ${s.inferred}`) : null),
    ),
  );
  return h(
    'table',
    { class: 'stages' },
    h('thead', {}, h('tr', {}, ...['stage', 's', 'GPU util %', 'SM active %', 'mem MiB', 'workload cores', 'time shares', 'bottleneck', 'evidence'].map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows),
  );
}

function compareTable(r: ReportJsonBody): HTMLElement {
  const rows = r.compare ?? [];
  const maxRatio = Math.max(1, ...rows.map((c) => c.ratio ?? 0));
  return h(
    'table',
    { class: 'compare' },
    h('thead', {}, h('tr', {}, ...['stage', r.run.id, r.vs?.run.id ?? 'vs', 'ratio', 'bottlenecks'].map((c) => h('th', {}, c)))),
    h(
      'tbody',
      {},
      ...rows.map((c) => {
        const bar = h('div', { class: 'ratio-bar' });
        bar.style.width = `${((c.ratio ?? 0) / maxRatio) * 100}%`;
        bar.style.background = (c.ratio ?? 1) > 1.1 ? '#cf222e' : (c.ratio ?? 1) < 0.9 ? '#2da44e' : '#8c959f';
        return h(
          'tr',
          {},
          h('td', {}, c.stage, h('small', {}, ` ${c.host_a} vs ${c.host_b}`)),
          h('td', { class: 'num' }, c.duration_s_a.toFixed(1)),
          h('td', { class: 'num' }, c.duration_s_b.toFixed(1)),
          h('td', { class: 'ratio' }, h('div', { class: 'ratio-wrap' }, bar), h('span', {}, c.ratio === null ? '–' : `${c.ratio.toFixed(2)}x`)),
          h('td', {}, badge(c.bottleneck_a), ' vs ', badge(c.bottleneck_b)),
        );
      }),
    ),
  );
}

/** A finished (or running) run: stage tables, a timeline and a chart per host, and the comparison. */
export async function runPage(root: HTMLElement, runId: string, vs: string | null, state: RunState): Promise<() => void> {
  const r = await getJson<ReportJsonBody>(`/api/runs/${encodeURIComponent(runId)}/report${vs ? `?vs=${encodeURIComponent(vs)}` : ''}`);
  const plots: uPlot[] = [];
  root.append(
    h('h1', {}, 'Run ', h('code', {}, r.run.id), vs ? h('span', {}, ' vs ', h('code', {}, vs)) : null),
    h('p', { class: 'muted', id: 'run-summary' }, `hosts ${r.run.hosts.join(', ')} · started ${utc(r.run.startedAt)}${r.run.endedAt ? ` · took ${duration(r.run.endedAt - r.run.startedAt)}` : ' · running'}${runOutcome(r.run) ? ` · ${runOutcome(r.run)}` : ''}`),
  );
  if (r.headline) root.append(headlineTable(r.headline));
  if (r.compare) {
    // Stages that differ between the hosts, with the host facts and figures bearing on them.
    const why = r.compare.filter((c) => c.why !== null);
    root.append(h('h2', {}, 'Compared stage by stage'), compareTable(r), ...(why.length > 0 ? [h('ul', { class: 'why' }, ...why.map((c) => h('li', {}, c.text)))] : []));
  }
  for (const host of r.hosts) {
    const smNote = host.sm_activity === 'dcgm' ? ' · SM activity from DCGM profiling' : host.gpm ? '' : ' · no SM activity (no GPM, no DCGM)';
    const section = h('section', { class: 'host' }, h('h2', {}, host.host), h('p', { class: 'muted' }, gpuSummary(host.gpus), smNote), h('p', { class: 'muted fingerprint' }, fingerprintText(host.fingerprint)));
    root.append(section);
    // The table is what a decision is made from: it comes first, the charts behind it explain it.
    section.append(stageTable(host));
    if (host.problems.length > 0) section.append(h('ul', { class: 'problems' }, ...host.problems.map((p) => h('li', {}, p))));
    if (host.breakdown) section.append(breakdownSection(host.breakdown));
    const series = await getJson<Series>(`/api/runs/${encodeURIComponent(runId)}/series?host=${encodeURIComponent(host.host)}`);
    const bar = leaves(host.stages).map((st) => ({ name: st.name, start: st.start_ms, end: st.end_ms, bottleneck: st.bottleneck, title: `${st.name}: ${st.duration_s.toFixed(1)} s, ${st.bottleneck}` }));
    plots.push(...runCharts(section, series, bar, Math.min(1400, root.clientWidth || 1000) - 20));
  }
  Object.assign(state, { stages: r.hosts.reduce((a, x) => a + x.stages.length, 0), compareRows: r.compare?.length ?? 0, charts: plots.length });
  return () => plots.forEach((p) => p.destroy());
}
