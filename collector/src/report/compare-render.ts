import type { CompareResult } from '../analysis/compare-runs.js';
import { absoluteTable as absolute, changeTable as changes } from './compare-text.js';
import { esc } from './html.js';

export type CompareFormat = 'md' | 'json' | 'html' | 'csv';
export const COMPARE_FORMATS: readonly CompareFormat[] = ['md', 'json', 'html', 'csv'];

const NOTE = (r: CompareResult): string =>
  `Verdicts at ${Math.round(r.confidence * 100)} % confidence, interval in % of the baseline mean. repeats: Welch interval over the runs of each configuration; steps: Welch over per-step values of the run(s), steps taken as independent (one run per configuration; repeats give the sounder answer). Values are mean ± sd over runs. Clocks: cuda = CUDA events (when the GPU ran it), host = the workload's own marks (the host runs ahead of the GPU), log = log lines; figures on different clocks are not compared (not comparable).`;

export function compareMarkdown(r: CompareResult): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
  const table = (t: { head: string[]; rows: string[][] }): string[] => [
    `| ${t.head.map(cell).join(' | ')} |`,
    `| --- | ${t.head.slice(1).map(() => '---:').join(' | ')} |`,
    ...t.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  return [
    `# stagewatch compare: baseline ${cell(r.baseline.config)} (run ${cell(r.baseline.run)})`,
    '',
    ...table(absolute(r)),
    '',
    '## Change against the baseline',
    '',
    ...table(changes(r)),
    '',
    NOTE(r),
    '',
  ].join('\n');
}

export function compareTablesHtml(r: CompareResult): string {
  const table = (t: { head: string[]; rows: string[][] }, cls: string): string =>
    `<table class="${cls}"><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
      .map((row) => `<tr>${row.map((c, i) => `<td${i > 0 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>`;
  return `${table(absolute(r), 'compare-abs')}<h2>Change against the baseline</h2>${table(changes(r), 'compare-pct')}<p class="muted">${esc(NOTE(r))}</p>`;
}

function compareHtmlPage(r: CompareResult): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>stagewatch compare ${esc(r.baseline.config)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328}table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #d0d7de;padding:.2em .5em;text-align:left}.num{text-align:right}.muted{color:#57606a}</style></head>
<body><h1>stagewatch compare: baseline ${esc(r.baseline.config)} (run ${esc(r.baseline.run)})</h1>${compareTablesHtml(r)}</body></html>\n`;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line per row: the values, then each metric's change, interval, verdict and basis. */
export function compareCsv(r: CompareResult): string {
  const head = ['config', 'runs', ...r.metrics.flatMap((m) => [m, `${m}_sd`, `${m}_n`, `${m}_pct`, `${m}_ci_lo_pct`, `${m}_ci_hi_pct`, `${m}_verdict`, `${m}_basis`, `${m}_clock`])];
  const lines = r.rows.map((row) => [
    row.config,
    row.runs.join(';'),
    ...r.metrics.flatMap((m) => {
      const v = row.values[m];
      const c = row.change?.[m];
      const s = (x: number | null | undefined): string => (x === null || x === undefined ? '' : String(x));
      return [s(v?.mean), s(v?.sd), s(v?.n), s(c?.pct), s(c?.ci_pct?.[0]), s(c?.ci_pct?.[1]), row.change ? (c?.verdict ?? '') : 'baseline', c?.basis ?? '', v?.clock ?? ''];
    }),
  ]);
  return [head, ...lines].map((l) => l.map(csvField).join(',')).join('\n') + '\n';
}

export function renderCompare(r: CompareResult, format: CompareFormat): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (format === 'csv') return compareCsv(r);
  if (format === 'html') return compareHtmlPage(r);
  return compareMarkdown(r);
}
