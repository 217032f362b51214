import { BOTTLENECK_COLORS } from '../src/report/colors.js';
import { AXIS_PX, PALETTE } from './charts.js';
import { h } from './dom.js';

export interface BarStage {
  name: string;
  /** ms */
  start: number;
  end: number;
  /** Colours the segment by its bottleneck label where known (run page). */
  bottleneck?: string;
  title?: string;
}

/**
 * The stage bar on the charts' time axis: the same x range and the same left offset as the
 * plot areas of the uPlot charts below it (their y axes are AXIS_PX wide), so a stage's edge
 * sits over the same instant in the bar and in every chart.
 */
export function stageBar(stages: readonly BarStage[], range: [number, number], width: number): HTMLElement {
  const bar = h('div', { class: 'timeline' });
  bar.style.marginLeft = `${AXIS_PX + 10}px`;
  bar.style.width = `${Math.max(1, width - AXIS_PX - 2 * 10)}px`;
  fillBar(bar, stages, range);
  return bar;
}

/** (Re)draws the bar's segments for a time range (ms); the live view moves it every redraw. */
export function fillBar(bar: HTMLElement, stages: readonly BarStage[], range: [number, number]): void {
  const [t0, t1] = range;
  bar.dataset.t0 = String(t0);
  bar.dataset.t1 = String(t1);
  const span = t1 - t0 || 1;
  const segs: HTMLElement[] = [];
  for (const s of stages) {
    const a = Math.max(t0, s.start);
    const b = Math.min(t1, s.end);
    if (b <= a) continue;
    const seg = h('div', { class: 'segment', title: s.title ?? s.name }, s.name);
    seg.style.left = `${((a - t0) / span) * 100}%`;
    seg.style.width = `${Math.max(0.3, ((b - a) / span) * 100)}%`;
    // Coloured by bottleneck where the report labelled it (run page), else one colour per stage.
    seg.style.background = s.bottleneck ? (BOTTLENECK_COLORS[s.bottleneck] ?? '#57606a') : (PALETTE[segs.length % PALETTE.length] as string);
    segs.push(seg);
  }
  bar.replaceChildren(...segs);
}

/**
 * Puts the bar exactly over a chart's plot area (uPlot's `over` element), now and whenever that
 * area is laid out again: uPlot sizes it after a frame, and a resize moves it.
 */
export function alignTo(bar: HTMLElement, over: HTMLElement | undefined): ResizeObserver | null {
  if (!over) return null;
  const place = (): void => {
    const parent = bar.parentElement;
    const o = over.getBoundingClientRect();
    if (!parent || o.width === 0) return;
    bar.style.marginLeft = `${o.left - parent.getBoundingClientRect().left}px`;
    bar.style.width = `${o.width}px`;
  };
  place();
  const watch = new ResizeObserver(place);
  watch.observe(over);
  return watch;
}
