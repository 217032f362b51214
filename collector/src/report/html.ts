import { stageLabel, type StageComparison } from '../analysis/compare.js';
import type { Report } from '../analysis/report.js';
import type { SpannedReport } from '../analysis/spans-report.js';
import { breakdownHtml, headlineHtml } from './breakdown-html.js';
import { fingerprintText } from './fingerprint-text.js';
import { resolutionText, smActivityNote, stepsText } from './markdown.js';
import type { Series } from './series.js';
import { BOTTLENECK_COLORS } from './colors.js';
import { runOutcome } from './outcome.js';
import { lineChartSvg, sharesBarSvg, sharesLegendSvg, timelineSvg } from './svg.js';

/** Every agent-supplied string passes through here before it reaches HTML or SVG. */
export const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const n = (v: number | null | undefined, d = 0): string => (v === null || v === undefined ? '–' : v.toFixed(d));
const badge = (b: string): string => `<span class="badge" style="background:${BOTTLENECK_COLORS[b] ?? '#57606a'}">${esc(b)}</span>`;

function compareHtml(r: Report, c: { vs: Report; rows: StageComparison[] }): string {
  const maxRatio = Math.max(1, ...c.rows.map((x) => x.ratio ?? 0));
  const rows = c.rows
    .map((x) => {
      const color = (x.ratio ?? 1) > 1.1 ? '#cf222e' : (x.ratio ?? 1) < 0.9 ? '#2da44e' : '#8c959f';
      return `<tr><td>${esc(stageLabel(x.stage))} <small>${esc(x.host_a)} vs ${esc(x.host_b)}</small></td><td class="num">${x.duration_s_a.toFixed(1)}</td><td class="num">${x.duration_s_b.toFixed(1)}</td>
<td><span class="bar"><span style="width:${(((x.ratio ?? 0) / maxRatio) * 100).toFixed(1)}%;background:${color}"></span></span> ${x.ratio === null ? '–' : `${x.ratio.toFixed(2)}x`}</td><td>${badge(x.bottleneck_a)} vs ${badge(x.bottleneck_b)}</td></tr>`;
    })
    .join('\n');
  return `<h2>Compared with run ${esc(c.vs.run.id)}</h2>
<table><thead><tr><th>stage</th><th>${esc(r.run.id)} s</th><th>${esc(c.vs.run.id)} s</th><th>ratio</th><th>bottlenecks</th></tr></thead><tbody>${rows}</tbody></table>
<ul>${c.rows.map((x) => `<li>${esc(x.text)}</li>`).join('')}</ul>`;
}

/** One self-contained HTML file: inline SVG charts, no script, no external resource. */
export function reportHtml(r: Report | SpannedReport, compare?: { vs: Report; rows: StageComparison[] }, series: Record<string, Series> = {}): string {
  const hosts = r.hosts
    .map((h) => {
      const s = series[h.host];
      const keys = s ? Object.keys(s.series).filter((k) => /^gpu\d+\.(util_pct|sm_active_pct)$/.test(k)) : [];
      const rows = h.stages
        .map(
          (st) => `<tr><td style="padding-left:${0.5 + st.depth}em">${esc(st.name)}${st.inferred ? ` <small class="inferred" title="${esc(st.inferred)}">(inferred)</small>` : ''}${st.steps ? ` <small>(${esc(stepsText(st.steps))})</small>` : ''}</td>
<td class="num">${st.duration_s.toFixed(1)}</td><td class="num">${st.gpus.map((g) => n(g.util_pct?.mean)).join(' · ') || '–'}</td>
<td class="num">${st.gpus.map((g) => n(g.sm_active_pct?.mean)).join(' · ') || '–'}</td><td class="num">${st.gpus.map((g) => n(g.mem_used_mib.max)).join(' · ') || '–'}</td>
<td class="num">${st.gpus.map((g) => n(g.power_w.mean)).join(' · ') || '–'}</td><td class="num">${n(st.host.cpu_pct.mean)}</td><td class="num">${n(st.proc.cpu_cores.mean, 2)}</td>
<td class="num">${n(st.workload?.torch_reserved_mib.max)}</td><td>${sharesBarSvg(st.shares, st.no_data_s, st.duration_s)}</td><td>${badge(st.bottleneck)}</td><td class="ev">${esc(st.evidence)}${st.inferred ? `<br><i>inferred: ${esc(st.inferred)}</i>` : ''}</td></tr>`,
        )
        .join('\n');
      return `<section><h2>${esc(h.host)}</h2><p class="muted">GPUs: ${h.gpus.map((g) => `${g.index} ${esc(g.name)}`).join(', ') || 'none'}${esc(smActivityNote(h))}</p>
<p class="muted fingerprint">${esc(fingerprintText(h.fingerprint))}</p>${h.resolution ? `<p class="muted resolution">${esc(resolutionText(h.resolution))}</p>` : ''}
${timelineSvg(h.stages, 900, s && s.t.length > 0 ? [s.start, s.end] : undefined)}
${s && keys.length > 0 ? lineChartSvg(s, keys, h.stages, 'GPU utilization and SM activity (%)') : ''}
${s && s.series['proc.cpu_cores'] ? lineChartSvg(s, ['proc.cpu_cores'], h.stages, 'Workload CPU (cores)', 900, 140) : ''}
${sharesLegendSvg()}
<table><thead><tr><th>stage</th><th>s</th><th>util %</th><th>SM active %</th><th>mem MiB</th><th>power W</th><th>host CPU %</th><th>workload cores</th><th>torch reserved MiB</th><th>time shares</th><th>bottleneck</th><th>evidence</th></tr></thead><tbody>
${rows}</tbody></table>${h.problems.length ? `<ul class="problems">${h.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}${'breakdown' in h && h.breakdown ? breakdownHtml(h.breakdown) : ''}</section>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>stagewatch report ${esc(r.run.id)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328}table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #d0d7de;padding:.2em .5em;text-align:left;vertical-align:top}
.num{text-align:right}.ev{color:#57606a;max-width:36em}.muted{color:#57606a}.badge{color:#fff;border-radius:1em;padding:0 .6em;font-size:.85em;white-space:nowrap}
.bar{display:inline-block;width:10em;height:.9em;background:#f6f8fa;vertical-align:middle}.bar span{display:block;height:100%}svg{display:block;margin:.5em 0}</style></head>
<body><h1>stagewatch report: run ${esc(r.run.id)}</h1>
<p class="muted">hosts ${r.run.hosts.map(esc).join(', ')} · started ${new Date(r.run.startedAt).toISOString()}${r.run.endedAt ? ` · ended ${new Date(r.run.endedAt).toISOString()}` : ''}${runOutcome(r.run) ? ` · ${esc(runOutcome(r.run))}` : ''}</p>
${'headline' in r ? headlineHtml(r.headline) : ''}${compare ? compareHtml(r, compare) : ''}${hosts}</body></html>\n`;
}
