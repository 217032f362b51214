import { stageLabel, type StageComparison } from '../analysis/compare.js';
import type { Report } from '../analysis/report.js';

/** Every agent-supplied string passes through here before it reaches HTML. */
export const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const n = (v: number | null | undefined, d = 0): string => (v === null || v === undefined ? '–' : v.toFixed(d));

/** A self-contained HTML report: no script, no external resource, readable offline. */
export function reportHtml(r: Report, compare?: { vs: Report; rows: StageComparison[] }): string {
  const hosts = r.hosts
    .map((h) => {
      const rows = h.stages
        .map(
          (s) => `<tr><td style="padding-left:${0.5 + s.depth}em">${esc(s.name)}${s.steps ? ` <small>(${s.steps.count} steps)</small>` : ''}</td>
<td>${s.duration_s.toFixed(1)}</td><td>${s.gpus.map((g) => n(g.util_pct?.mean)).join(' · ') || '–'}</td>
<td>${s.gpus.map((g) => n(g.sm_active_pct?.mean)).join(' · ') || '–'}</td><td>${s.gpus.map((g) => n(g.mem_used_mib.max)).join(' · ') || '–'}</td>
<td>${s.gpus.map((g) => n(g.power_w.mean)).join(' · ') || '–'}</td><td>${n(s.host.cpu_pct.mean)}</td><td>${n(s.proc.cpu_cores.mean, 2)}</td>
<td class="b ${esc(s.bottleneck)}">${esc(s.bottleneck)}</td><td>${esc(s.evidence)}</td></tr>`,
        )
        .join('\n');
      return `<h2>${esc(h.host)}</h2><p>GPUs: ${h.gpus.map((g) => `${g.index} ${esc(g.name)}`).join(', ') || 'none'}</p>
<table><thead><tr><th>stage</th><th>s</th><th>util %</th><th>SM active %</th><th>mem MiB</th><th>power W</th><th>host CPU %</th><th>workload cores</th><th>bottleneck</th><th>evidence</th></tr></thead><tbody>
${rows}</tbody></table>`;
    })
    .join('\n');
  const cmp = compare
    ? `<h2>Compared with run ${esc(compare.vs.run.id)}</h2><ul>${compare.rows.map((c) => `<li>${esc(c.text.replace(c.stage, stageLabel(c.stage)))}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>stagewatch report ${esc(r.run.id)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}td:first-child,td:last-child{text-align:left}.b{font-weight:bold}.gpu-compute{color:#1a7f37}.host-cpu{color:#b35900}.io{color:#8250df}.idle{color:#777}</style></head>
<body><h1>stagewatch report: run ${esc(r.run.id)}</h1>${hosts}${cmp}</body></html>\n`;
}
