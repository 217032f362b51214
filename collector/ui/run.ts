import type uPlot from 'uplot';
import { makeChart, type Band } from './charts.js';
import type { HostFingerprint, WorkloadRuntime } from '@stagewatch/shared';
import { fingerprintText } from '../src/report/fingerprint-text.js';
import { leafIntervals } from '../src/report/leaves.js';
import type { HostBreakdown } from '../src/analysis/breakdown.js';
import type { Headline } from '../src/analysis/spans-report.js';
import { breakdownSection, headlineTable } from './breakdown.js';
import { badge, BOTTLENECK_COLORS, fmt, getJson, h } from './dom.js';

interface StageJson {
  name: string;
  depth: number;
  start_ms: number;
  end_ms: number;
  duration_s: number;
  inferred: string | null;
  steps: { count: number; inferred: number; duration_s: { mean: number } } | null;
  gpus: Array<{ index: number; util_pct: { mean: number } | null; sm_active_pct: { mean: number } | null; mem_used_mib: { max: number | null } }>;
  proc: { cpu_cores: { mean: number | null; max: number | null } };
  bottleneck: string;
  evidence: string;
}
interface HostJson {
  host: string;
  gpus: Array<{ index: number; name: string }>;
  gpm: boolean;
  sm_activity: 'gpm' | 'dcgm' | 'none';
  fingerprint: { host: HostFingerprint | null; workload: WorkloadRuntime | null };
  stages: StageJson[];
  problems: string[];
  breakdown?: HostBreakdown | null;
}
interface ReportJson {
  run: { id: string; hosts: string[]; startedAt: number; endedAt: number | null; exitCode: number | null };
  hosts: HostJson[];
  headline?: Headline;
  compare?: Array<{ stage: string; host_a: string; host_b: string; duration_s_a: number; duration_s_b: number; ratio: number | null; bottleneck_a: string; bottleneck_b: string; why: object | null; text: string }>;
  vs?: { run: { id: string } };
}
interface SeriesJson {
  t: number[];
  series: Record<string, Array<number | null>>;
}

export interface RunState {
  page: 'run';
  stages: number;
  compareRows: number;
  charts: number;
}

/** Leaf stages (holding no other) make the bands and the timeline. */
const leaves = (stages: StageJson[]): StageJson[] => leafIntervals(stages, (s) => s.start_ms, (s) => s.end_ms);

function timeline(stages: StageJson[]): HTMLElement {
  const ls = leaves(stages);
  const t0 = Math.min(...ls.map((s) => s.start_ms));
  const total = Math.max(...ls.map((s) => s.end_ms)) - t0 || 1;
  const bar = h('div', { class: 'timeline' });
  for (const s of ls) {
    const seg = h('div', { class: 'segment', title: `${s.name}: ${s.duration_s.toFixed(1)} s, ${s.bottleneck}` }, s.name);
    seg.style.left = `${((s.start_ms - t0) / total) * 100}%`;
    seg.style.width = `${Math.max(0.5, ((s.end_ms - s.start_ms) / total) * 100)}%`;
    seg.style.background = BOTTLENECK_COLORS[s.bottleneck] ?? '#57606a';
    bar.append(seg);
  }
  return bar;
}

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
      h('td', {}, badge(s.bottleneck)),
      h('td', { class: 'evidence' }, s.evidence, s.inferred ? h('div', { class: 'inferred' }, `inferred: ${s.inferred}`) : null),
    ),
  );
  return h(
    'table',
    { class: 'stages' },
    h('thead', {}, h('tr', {}, ...['stage', 's', 'GPU util %', 'SM active %', 'mem MiB', 'workload cores', 'bottleneck', 'evidence'].map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows),
  );
}

function compareTable(r: ReportJson): HTMLElement {
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
  const r = await getJson<ReportJson>(`/api/runs/${encodeURIComponent(runId)}/report${vs ? `?vs=${encodeURIComponent(vs)}` : ''}`);
  const plots: uPlot[] = [];
  root.append(
    h('h1', {}, 'Run ', h('code', {}, r.run.id), vs ? h('span', {}, ' vs ', h('code', {}, vs)) : null),
    h('p', { class: 'muted' }, `hosts ${r.run.hosts.join(', ')} · started ${new Date(r.run.startedAt).toISOString()}${r.run.endedAt ? ` · ended ${new Date(r.run.endedAt).toISOString()}` : ' · running'}${r.run.exitCode !== null ? ` · exit ${r.run.exitCode}` : ''}`),
  );
  if (r.headline) root.append(headlineTable(r.headline));
  if (r.compare) {
    // Stages that differ between the hosts, with the host facts and figures bearing on them.
    const why = r.compare.filter((c) => c.why !== null);
    root.append(h('h2', {}, 'Compared stage by stage'), compareTable(r), ...(why.length > 0 ? [h('ul', { class: 'why' }, ...why.map((c) => h('li', {}, c.text)))] : []));
  }
  for (const host of r.hosts) {
    const section = h('section', { class: 'host' }, h('h2', {}, host.host), h('p', { class: 'muted' }, host.gpus.map((g) => `GPU ${g.index} ${g.name}`).join(', ') || 'no GPUs', host.sm_activity === 'dcgm' ? ' · SM activity from DCGM profiling' : host.gpm ? '' : ' · no SM activity (no GPM, no DCGM)'), h('p', { class: 'muted fingerprint' }, fingerprintText(host.fingerprint)));
    root.append(section);
    if (host.stages.length > 0) section.append(timeline(host.stages));
    const series = await getJson<SeriesJson>(`/api/runs/${encodeURIComponent(runId)}/series?host=${encodeURIComponent(host.host)}`);
    const keys = Object.keys(series.series).filter((k) => /^gpu\d+\.(util_pct|sm_active_pct)$/.test(k) || k === 'proc.cpu_cores');
    if (keys.length > 0) {
      const el = h('div', { class: 'chart' });
      section.append(el);
      const bands: Band[] = leaves(host.stages).map((s) => ({ name: s.name, start: s.start_ms / 1000, end: s.end_ms / 1000 }));
      const plot = makeChart(el, 'GPU util, SM activity (%) and workload cores ×100', '%', keys.map((k) => ({ label: k, dash: k.includes('sm_active') })), () => bands, Math.min(1400, root.clientWidth || 1000) - 20);
      plot.setData([series.t.map((t) => t / 1000), ...keys.map((k) => (series.series[k] ?? []).map((v) => (v !== null && k === 'proc.cpu_cores' ? v * 100 : v)))] as uPlot.AlignedData);
      plots.push(plot);
    }
    section.append(stageTable(host));
    if (host.problems.length > 0) section.append(h('ul', { class: 'problems' }, ...host.problems.map((p) => h('li', {}, p))));
    if (host.breakdown) section.append(breakdownSection(host.breakdown));
  }
  Object.assign(state, { stages: r.hosts.reduce((a, x) => a + x.stages.length, 0), compareRows: r.compare?.length ?? 0, charts: plots.length });
  return () => plots.forEach((p) => p.destroy());
}
