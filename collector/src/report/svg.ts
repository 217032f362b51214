import type { StageReport } from '../analysis/report.js';
import { STATES, type Shares } from '../analysis/thresholds.js';
import type { Line, Series } from './series.js';
import { seriesInfo } from './labels.js';
import { yRange } from './scale.js';
import { BOTTLENECK_COLORS } from './colors.js';
import { esc } from './html.js';
import { leafIntervals } from './leaves.js';

const PALETTE = ['#0969da', '#cf222e', '#2da44e', '#bf8700', '#8250df', '#1b7c83'];

/** Stages holding no other stage: the ones a timeline and chart bands show. */
export function leafStages(stages: readonly StageReport[]): StageReport[] {
  return leafIntervals(stages, (s) => s.start_ms, (s) => s.end_ms);
}

/** Left and right margins of the charts' plot area: the timeline uses the same, so both share one time axis. */
export const CHART_PAD = { l: 44, r: 8 };

/**
 * A bar per stage, as wide as it took, coloured by its bottleneck. With `range` (the charts'
 * [start, end] in ms) it is drawn on the charts' time axis, inside the same margins.
 */
export function timelineSvg(stages: readonly StageReport[], width = 900, range?: [number, number]): string {
  const ls = leafStages(stages);
  if (ls.length === 0) return '';
  const t0 = range ? range[0] : Math.min(...ls.map((s) => s.start_ms));
  const span = (range ? range[1] : Math.max(...ls.map((s) => s.end_ms))) - t0 || 1;
  const [left, plot] = range ? [CHART_PAD.l, width - CHART_PAD.l - CHART_PAD.r] : [0, width];
  const x = (t: number): number => left + ((Math.min(t0 + span, Math.max(t0, t)) - t0) / span) * plot;
  const bars = ls
    .map((s) => {
      const w = Math.max(1, x(s.end_ms) - x(s.start_ms));
      return `<g><title>${esc(s.name)}: ${s.duration_s.toFixed(1)} s, ${esc(s.bottleneck)}</title><rect x="${x(s.start_ms).toFixed(1)}" y="0" width="${w.toFixed(1)}" height="26" fill="${BOTTLENECK_COLORS[s.bottleneck] ?? '#57606a'}" stroke="#fff"/>` +
        (w > 40 ? `<text x="${(x(s.start_ms) + 4).toFixed(1)}" y="17" fill="#fff" font-size="11">${esc(s.name)}</text>` : '') + '</g>';
    })
    .join('');
  return `<svg class="timeline" width="${width}" height="26" viewBox="0 0 ${width} 26" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="stage timeline">${bars}</svg>`;
}

/**
 * Lines over time with stage bands behind them. Every series is drawn from its own buckets
 * (series.lines), so a 1 Hz GPM line is a line; the y range follows the unit of the first key
 * (one unit per chart) with a smallest span, so flat noise stays flat.
 */
export function lineChartSvg(series: Series, keys: readonly string[], stages: readonly StageReport[], title: string, width = 900, height = 220): string {
  const pad = { ...CHART_PAD, t: 22, b: 20 };
  const w = width - pad.l - pad.r;
  const hgt = height - pad.t - pad.b;
  const drawn = keys.filter((k) => (series.lines[k]?.t.length ?? 0) > 0);
  if (drawn.length === 0) return '';
  const t0 = series.start;
  const t1 = Math.max(t0 + 1, series.end);
  const unit = seriesInfo(drawn[0] as string).unit;
  const [vmin, vmax] = yRange(unit, drawn.flatMap((k) => series.lines[k]?.v ?? []));
  const x = (t: number): number => pad.l + ((Math.min(t1, Math.max(t0, t)) - t0) / (t1 - t0)) * w;
  const y = (v: number): number => pad.t + hgt - ((v - vmin) / (vmax - vmin || 1)) * hgt;
  const bands = leafStages(stages)
    .map((s, i) => `<rect x="${x(Math.max(t0, s.start_ms)).toFixed(1)}" y="${pad.t}" width="${Math.max(0, x(Math.min(t1, s.end_ms)) - x(Math.max(t0, s.start_ms))).toFixed(1)}" height="${hgt}" fill="${i % 2 ? '#f6f8fa' : '#eef3fb'}"/><text x="${(x(Math.max(t0, s.start_ms)) + 3).toFixed(1)}" y="${pad.t + 12}" font-size="10" fill="#57606a">${esc(s.name)}</text>`)
    .join('');
  const lines = drawn
    .map((k) => {
      const line = series.lines[k] as Line;
      let d = '';
      let open = false;
      line.v.forEach((v, j) => {
        if (v === null) {
          open = false;
          return;
        }
        d += `${open ? 'L' : 'M'}${x(line.t[j] as number).toFixed(1)},${y(v).toFixed(1)}`;
        open = true;
      });
      const dash = k.includes('sm_active') ? ' stroke-dasharray="5,3"' : '';
      return `<path class="series" data-key="${esc(k)}" d="${d}" fill="none" stroke="${PALETTE[keys.indexOf(k) % PALETTE.length]}" stroke-width="1.5"${dash}/>`;
    })
    .join('');
  const legend = drawn.map((k) => `<tspan fill="${PALETTE[keys.indexOf(k) % PALETTE.length]}">■ ${esc(seriesInfo(k).label)} </tspan>`).join('');
  const fmtV = (v: number): string => (Math.abs(vmax - vmin) < 10 ? v.toFixed(1) : v.toFixed(0));
  const clock = (t: number): string => new Date(t).toISOString().slice(11, 19);
  return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}">
<text x="${pad.l}" y="14" font-size="12" font-weight="600">${esc(title)}</text><text x="${pad.l + 260}" y="14" font-size="11">${legend}</text>
${bands}<line x1="${pad.l}" y1="${pad.t + hgt}" x2="${pad.l + w}" y2="${pad.t + hgt}" stroke="#8c959f"/>
<text x="${pad.l - 4}" y="${pad.t + 8}" font-size="10" text-anchor="end">${fmtV(vmax)}</text><text x="${pad.l - 4}" y="${pad.t + hgt}" font-size="10" text-anchor="end">${fmtV(vmin)}</text>
<text x="4" y="${pad.t + hgt / 2}" font-size="10" fill="#57606a">${esc(unit)}</text>
<text x="${pad.l}" y="${height - 4}" font-size="10">${clock(t0)}</text><text x="${pad.l + w}" y="${height - 4}" font-size="10" text-anchor="end">${clock(t1)} UTC</text>
${lines}</svg>`;
}

/** A stage's time shares as one stacked bar, a segment per state in its colour. */
export function sharesBarSvg(shares: Shares, noDataS: number, durationS: number, width = 140, height = 12): string {
  let x = 0;
  const segs = STATES.filter((s) => shares[s] > 0)
    .map((s) => {
      const w = shares[s] * width;
      const rect = `<rect x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="${height}" fill="${BOTTLENECK_COLORS[s]}"><title>${s} ${Math.round(shares[s] * 100)}%</title></rect>`;
      x += w;
      return rect;
    })
    .join('');
  const gap = noDataS >= 0.05 && durationS > 0 ? `<title>no data for ${noDataS.toFixed(1)} s of ${durationS.toFixed(1)} s</title>` : '';
  return `<svg class="shares" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="time shares">${gap}<rect width="${width}" height="${height}" fill="#f6f8fa"/>${segs}</svg>`;
}

/** The colour key for shares bars and badges. */
export function sharesLegendSvg(width = 560): string {
  const items = STATES.map((s, i) => `<rect x="${i * 92}" y="2" width="10" height="10" fill="${BOTTLENECK_COLORS[s]}"/><text x="${i * 92 + 14}" y="11" font-size="11">${s}</text>`).join('');
  return `<svg class="legend" width="${width}" height="14" viewBox="0 0 ${width} 14" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="states">${items}</svg>`;
}
