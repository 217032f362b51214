import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { seriesInfo } from '../src/report/labels.js';
import { yRange } from '../src/report/scale.js';

export interface Band {
  start: number; // seconds
  end: number;
  name: string;
}

/** One series as its own time grid: times in seconds, null where the line breaks. */
export interface LineData {
  key: string;
  t: number[];
  v: Array<number | null>;
}

const BAND_FILL = ['rgba(9,105,218,0.08)', 'rgba(191,135,0,0.10)', 'rgba(45,164,78,0.09)', 'rgba(130,80,223,0.09)', 'rgba(207,34,46,0.07)'];
export const PALETTE = ['#0969da', '#cf222e', '#2da44e', '#bf8700', '#8250df', '#1b7c83', '#e16f24', '#57606a'];
/** Width of the y axis in CSS px: the same on every chart, so plot areas (and the stage bar) line up. */
export const AXIS_PX = 64;
/** Every chart shows UTC, and the pages say so. */
export const TIME_ZONE = 'UTC';
export const CURSOR_SYNC = 'stagewatch';

/** Stage bands drawn under the series, the stage name at the top of each. */
function bandsPlugin(getBands: () => Band[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const ctx = u.ctx;
        const { top, height } = u.bbox;
        getBands().forEach((b, i) => {
          const x0 = u.valToPos(b.start, 'x', true);
          const x1 = u.valToPos(b.end, 'x', true);
          if (x1 < u.bbox.left || x0 > u.bbox.left + u.bbox.width) return;
          ctx.fillStyle = BAND_FILL[i % BAND_FILL.length] as string;
          ctx.fillRect(Math.max(x0, u.bbox.left), top, Math.max(1, Math.min(x1, u.bbox.left + u.bbox.width) - Math.max(x0, u.bbox.left)), height);
          ctx.fillStyle = '#57606a';
          ctx.font = `${11 * devicePixelRatio}px system-ui`;
          ctx.fillText(b.name, Math.max(x0, u.bbox.left) + 4, top + 14 * devicePixelRatio);
        });
      },
    },
  };
}

/** Each series' newest value, as a per-series legend index: what the legend shows without a cursor. */
export function latestIdxs(data: uPlot.AlignedData): Array<number | null> {
  return data.map((col, i) => {
    if (i === 0) return col.length > 0 ? col.length - 1 : null;
    for (let j = col.length - 1; j >= 0; j--) if (typeof col[j] === 'number') return j;
    return null;
  });
}

/** Like Grafana's legend: the newest value of every series while the cursor is off the chart. */
function latestInLegend(): uPlot.Plugin {
  const show = (u: uPlot): void => {
    if (u.cursor.idx === null || u.cursor.idx === undefined) u.setLegend({ idxs: latestIdxs(u.data) }, false);
  };
  return { hooks: { setData: show, setLegend: show } };
}

export interface ChartSpec {
  title: string;
  /** Series keys (`gpu0.util_pct`, ...): all of one unit, named from the metric catalogue. */
  keys: string[];
  /** Series drawn dashed (SM activity beside utilization). */
  dashed?: (key: string) => boolean;
  height?: number;
}

/** x tick labels: 24-hour UTC clock time (the page states the zone). */
const clockLabel = (sec: number): string => new Date(sec * 1000).toISOString().slice(11, 19);

const fmtValue = (unit: string) => (_u: uPlot, v: number | null): string =>
  v === null || v === undefined ? '–' : `${Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)}${unit ? ` ${unit}` : ''}`;

/**
 * A time chart (x in seconds, shown in UTC) of series of one unit, with stage bands, a fixed
 * x range shared with every other chart on the page (`range`) and a cursor synced across them.
 */
export function makeChart(el: HTMLElement, spec: ChartSpec, getBands: () => Band[], range: () => [number, number], width: number): uPlot {
  const unit = seriesInfo(spec.keys[0] ?? '').unit;
  const opts: uPlot.Options = {
    title: spec.title,
    width,
    height: spec.height ?? 200,
    plugins: [bandsPlugin(getBands), latestInLegend()],
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    cursor: { sync: { key: CURSOR_SYNC } },
    scales: {
      x: { time: true, range: () => range() },
      y: { range: (u) => yRange(unit, (u.data.slice(1) as Array<Array<number | null | undefined>>).flat()) },
    },
    axes: [{ values: (_u, splits) => splits.map(clockLabel) }, { label: unit || undefined, size: AXIS_PX, labelSize: 14 }],
    series: [
      { label: `time (${TIME_ZONE})`, value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '–' : clockLabel(v)) },
      ...spec.keys.map((k, i) => ({
        label: seriesInfo(k).label,
        stroke: PALETTE[i % PALETTE.length] as string,
        width: 1.5,
        spanGaps: false,
        value: fmtValue(unit),
        ...(spec.dashed?.(k) ? { dash: [6, 4] } : {}),
      })),
    ],
  };
  return new uPlot(opts, [[], ...spec.keys.map(() => [])] as uPlot.AlignedData, el);
}

/** Lines of different cadences joined on one x axis: undefined where a line has no point (spanned), null where it breaks. */
export function alignLines(keys: readonly string[], lines: ReadonlyMap<string, LineData>): uPlot.AlignedData {
  const tables = keys.map((k) => {
    const l = lines.get(k);
    return [l?.t ?? [], l?.v ?? []] as uPlot.AlignedData;
  });
  if (tables.length === 0) return [[]];
  return uPlot.join(tables);
}
