import type { StageComparison } from '../analysis/compare.js';
import { stageLabel } from '../analysis/compare.js';
import type { HostReport, Report, StageReport } from '../analysis/report.js';
import { runOutcome } from './outcome.js';
import type { SpannedReport } from '../analysis/spans-report.js';
import { STATES } from '../analysis/thresholds.js';
import { breakdownMarkdown, headlineMarkdown } from './breakdown-md.js';
import { fingerprintText } from './fingerprint-text.js';

const n = (v: number | null | undefined, d = 0): string => (v === null || v === undefined ? '–' : v.toFixed(d));
// Agent-supplied strings go into table cells: keep them from breaking the table, and from being
// markup where the markdown is rendered (most renderers pass inline HTML through).
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function gpuCells(s: StageReport): string[] {
  const util = s.gpus.map((g) => `${n(g.util_pct?.mean)}/${n(g.util_pct?.p95)}`).join(' · ') || '–';
  const sm = s.gpus.map((g) => n(g.sm_active_pct?.mean)).join(' · ') || '–';
  const tensor = s.gpus.map((g) => n(g.tensor_active_pct?.mean)).join(' · ') || '–';
  const mem = s.gpus.map((g) => n(g.mem_used_mib.max)).join(' · ') || '–';
  const power = s.gpus.map((g) => n(g.power_w.mean)).join(' · ') || '–';
  const kj = s.gpus.map((g) => n(g.energy_j === null ? null : g.energy_j / 1000, 1)).join(' · ') || '–';
  return [util, sm, tensor, mem, power, kj];
}

/** Where SM activity came from, for the host line ("" for GPM, the usual case). */
/** Where retention rolled a host's readings up (HostReport.resolution): which times are held at which resolution. */
export function resolutionText(spans: NonNullable<HostReport['resolution']>): string {
  return `Readings (retention): ${spans.map((x) => `${x.resolution} ${new Date(x.from_ms).toISOString()} to ${new Date(x.to_ms).toISOString()}`).join(' · ')}`;
}

export function smActivityNote(h: { gpm: boolean; sm_activity: 'gpm' | 'dcgm' | 'none' }): string {
  if (h.sm_activity === 'dcgm') return ' · SM activity from DCGM profiling (no GPM on these GPUs)';
  if (h.sm_activity === 'gpm' || h.gpm) return '';
  return ' · no SM activity (no GPM, no DCGM): utilization is not SM activity';
}

/** "20 steps, 0.66 s each", saying how many were timed by an even split of a throttled bar. */
export function stepsText(st: NonNullable<StageReport['steps']>): string {
  return `${st.count} steps, ${st.duration_s.mean.toFixed(2)} s each${st.inferred > 0 ? `; ${st.inferred} drawn together by the progress bar, time split evenly` : ''}`;
}

/** The report as markdown tables a user can paste into a write-up. */
export function reportMarkdown(r: Report | SpannedReport, compare?: { vs: Report; rows: StageComparison[] }): string {
  const out: string[] = [];
  out.push(`# stagewatch report: run ${cell(r.run.id)}`, '');
  out.push(`Hosts: ${r.run.hosts.map(cell).join(', ')} · started ${new Date(r.run.startedAt).toISOString()}${r.run.endedAt ? ` · ended ${new Date(r.run.endedAt).toISOString()}` : ''}${runOutcome(r.run) ? ` · ${runOutcome(r.run)}` : ''}`, '');
  if ('headline' in r) out.push(...headlineMarkdown(r.headline));
  for (const h of r.hosts) {
    out.push(`## ${cell(h.host)}`, '');
    out.push(`GPUs: ${h.gpus.map((g) => `${g.index} ${cell(g.name)}`).join(', ') || 'none'}${smActivityNote(h)}`, '');
    out.push(`Host: ${cell(fingerprintText(h.fingerprint))}`, '');
    if (h.resolution) out.push(resolutionText(h.resolution), '');
    // Time shares of the stage (the GPUs in its label, else the host), in % of covered time.
    out.push(`| stage | duration s | GPU util % mean/p95 | SM active % | tensor % | mem max MiB | power W | energy kJ | host CPU % | busiest core % | workload cores mean/max | torch reserved MiB | ${STATES.map((x) => `${x} %`).join(' | ')} | no data s | bottleneck |`);
    out.push(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ${STATES.map(() => '---:').join(' | ')} | ---: | --- |`);
    for (const s of h.stages) {
      const name = `${'&nbsp;&nbsp;'.repeat(s.depth)}${cell(s.name)}${s.inferred ? ' (inferred)' : ''}${s.steps ? ` (${stepsText(s.steps)})` : ''}${s.unterminated ? ' (never ended)' : ''}`;
      out.push(`| ${[name, s.duration_s.toFixed(1), ...gpuCells(s), n(s.host.cpu_pct.mean), n(s.host.cpu_core_max_pct.mean), `${n(s.proc.cpu_cores.mean, 2)}/${n(s.proc.cpu_cores.max, 2)}`, n(s.workload?.torch_reserved_mib.max), ...STATES.map((x) => n(s.shares[x] * 100)), n(s.no_data_s, 1), `**${s.bottleneck}**`].join(' | ')} |`);
    }
    out.push('');
    for (const s of h.stages) out.push(`- **${cell(s.name)}** (${s.bottleneck}): ${cell(s.evidence)}${s.inferred ? ` · inferred: ${cell(s.inferred)}` : ''}`);
    if (h.problems.length > 0) out.push('', 'Problems with the marks:', ...h.problems.map((p) => `- ${cell(p)}`));
    out.push('');
    if ('breakdown' in h && h.breakdown) out.push(...breakdownMarkdown(h.breakdown));
  }
  if (compare) {
    out.push(`## Compared with run ${cell(compare.vs.run.id)}`, '');
    out.push(`| stage | ${cell(r.run.id)} s | ${cell(compare.vs.run.id)} s | ratio | bottlenecks |`, '| --- | ---: | ---: | ---: | --- |');
    for (const c of compare.rows) {
      out.push(`| ${cell(stageLabel(c.stage))} (${cell(c.host_a)} vs ${cell(c.host_b)}) | ${c.duration_s_a.toFixed(1)} | ${c.duration_s_b.toFixed(1)} | ${c.ratio === null ? '–' : `${c.ratio.toFixed(2)}x`} | ${c.bottleneck_a} vs ${c.bottleneck_b} |`);
    }
    out.push('', ...compare.rows.map((c) => `- ${cell(c.text)}`), '');
  }
  return out.join('\n');
}
