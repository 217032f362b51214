import type uPlot from 'uplot';
import { alignLines, makeChart, TIME_ZONE, type Band, type ChartSpec } from './charts.js';
import { getJson, h, token } from './dom.js';
import type { LiveMessage } from '../src/live.js';
import { idleMs, LivePoints, STALE_AFTER_MS } from './live-data.js';
import { runChartSpecs } from './run-charts.js';
import { ago, utc } from './time-format.js';
import { alignTo, fillBar, stageBar } from './timebar.js';


/** The time ranges a live view offers (ms); the collector backfills up to 30 minutes. */
export const LIVE_RANGES: ReadonlyArray<[string, number]> = [
  ['1 min', 60_000],
  ['5 min', 5 * 60_000],
  ['15 min', 15 * 60_000],
  ['30 min', 30 * 60_000],
];

export interface LiveState {
  page: 'host';
  updates: number;
  points: number;
  lastT: number;
  bands: number;
  stage: string;
  dropped: number;
  stale: boolean;
  windowMs: number;
  charts: number;
  /** The x range shown, ms. */
  xSpanMs: number;
  /** Each chart's y range as drawn, by title (tests read it; so can a person in the console). */
  yRanges: Record<string, [number, number]>;
}

/** Charts of the live view: the run page's, with every core beside the host CPU. */
function liveSpecs(keys: string[], cores: number[]): { wide: ChartSpec[]; perGpu: ChartSpec[] } {
  const { wide, perGpu } = runChartSpecs(keys);
  const at = wide.findIndex((c) => c.title === 'Host CPU');
  const perCore: ChartSpec = { title: 'CPU per core', keys: cores.map((c) => `host.cpu${c}_pct`) };
  if (cores.length > 0) wide.splice(at < 0 ? wide.length : at + 1, 0, perCore);
  return { wide, perGpu };
}

/** The live view of one host: charts that move, the stage bar on their time axis, the stage running now. */
export async function liveHost(root: HTMLElement, host: string, state: LiveState): Promise<() => void> {
  // Asks the API first: a missing token shows the token prompt instead of a silent socket.
  await getJson('/api/hosts');
  const data = new LivePoints();
  let runId: string | null = null;
  let serverNow = 0;
  let receivedAt = 0;
  let connected = false;
  const stageEl = h('strong', { id: 'current-stage' }, '–');
  const runEl = h('span', { id: 'live-run' }, '–');
  const status = h('span', { class: 'muted', id: 'live-status' }, 'connecting…');
  const rangeEl = h('span', { class: 'ranges', id: 'live-ranges' });
  const barSlot = h('div', { class: 'bar-slot' });
  const chartsEl = h('div', { class: 'charts' });
  root.append(
    h('h1', {}, 'Host ', h('code', {}, host)),
    h('p', {}, 'Run ', runEl, ' · stage now: ', stageEl, ' · ', status),
    h('p', { class: 'muted' }, 'Range: ', rangeEl, ` · times in ${TIME_ZONE}; the stage bar and every chart share one time axis`),
    barSlot,
    chartsEl,
  );

  let charts: Array<{ plot: uPlot; keys: string[] }> = [];
  let shape = '';
  let bandsNow: Band[] = [];
  let aligned: ResizeObserver | null = null;
  let bar = stageBar([], [0, 1], 1000);
  bar.id = 'live-bar';
  const width = (): number => Math.max(400, Math.min(1400, root.clientWidth || 1000) - 20);
  const range = (): [number, number] => {
    const now = serverNow ? serverNow + (Date.now() - receivedAt) : Date.now();
    return [(now - state.windowMs) / 1000, now / 1000];
  };
  const build = (): void => {
    for (const c of charts) c.plot.destroy();
    chartsEl.replaceChildren();
    const { wide, perGpu } = liveSpecs(data.keys(), [...data.cores].sort((a, b) => a - b));
    const place = (container: HTMLElement, spec: ChartSpec, w: number): void => {
      const el = h('div', { class: 'chart', 'data-title': spec.title });
      container.append(el);
      charts.push({ plot: makeChart(el, spec, () => bandsNow, range, w), keys: spec.keys });
    };
    charts = [];
    for (const spec of wide) place(chartsEl, spec, width());
    if (perGpu.length > 0) {
      const grid = h('div', { class: 'small-multiples' });
      chartsEl.append(h('h3', {}, 'Per GPU'), grid);
      for (const spec of perGpu) place(grid, spec, Math.floor((width() - 16) / 2));
    }
    state.charts = charts.length;
    bar = stageBar([], range().map((x) => x * 1000) as [number, number], width());
    bar.id = 'live-bar';
    barSlot.replaceChildren(bar);
    aligned?.disconnect();
    aligned = alignTo(bar, charts[0]?.plot.over);
  };

  const redraw = (): void => {
    const [x0, x1] = range();
    data.trim(x0 * 1000 - 60_000);
    const idle = idleMs(data.lastT, serverNow, receivedAt, Date.now());
    const stale = connected && idle > STALE_AFTER_MS;
    const b = (bandsNow = data.bands(stale ? data.lastT : x1 * 1000));
    const nowShape = data.keys().sort().join('|');
    if (nowShape !== shape) {
      shape = nowShape;
      build();
    }
    const lines = data.lines(x0 * 1000, state.windowMs);
    for (const c of charts) {
      c.plot.setData(alignLines(c.keys, lines));
      const y = c.plot.scales.y;
      // yRange never gives an empty span: min == max is a chart not yet scaled (just built).
      if (y?.min != null && y.max != null && y.max > y.min) state.yRanges[c.plot.root.querySelector('.u-title')?.textContent ?? ''] = [y.min, y.max];
    }
    fillBar(bar, b.map((x) => ({ name: x.name, start: x.start * 1000, end: x.end * 1000 })), [x0 * 1000, x1 * 1000]);
    const current = stale ? null : b.find((x) => x.start * 1000 <= data.lastT && x.end * 1000 >= data.lastT - 1);
    stageEl.textContent = current?.name ?? (stale ? '– (no data)' : '–');
    runEl.textContent = runId ?? '–';
    if (connected) {
      status.textContent = stale
        ? `no data for ${ago(idle).replace(' ago', '')} (last sample ${utc(data.lastT)}): the agent stopped streaming or lost its link`
        : state.dropped > 0 ? `live (skipped ${state.dropped} samples to keep up)` : 'live';
      status.className = stale ? 'stale' : 'muted';
    }
    Object.assign(state, { xSpanMs: Math.round((x1 - x0) * 1000), points: lines.get(charts[0]?.keys[0] ?? '')?.t.length ?? 0, bands: b.length, stage: stageEl.textContent, stale, lastT: data.lastT });
    state.updates++;
  };

  let ws: WebSocket | null = null;
  const connect = (): void => {
    ws?.close();
    const t = token();
    const sock = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live?host=${encodeURIComponent(host)}&window_ms=${state.windowMs}${t ? `&token=${encodeURIComponent(t)}` : ''}`);
    ws = sock;
    sock.onmessage = (ev) => {
      if (ws !== sock) return;
      const msg = JSON.parse(String(ev.data)) as LiveMessage;
      connected = true;
      runId = msg.runId;
      serverNow = msg.now;
      receivedAt = Date.now();
      data.add(msg.samples);
      data.marks.push(...msg.marks);
      if (msg.type === 'update') state.dropped = msg.dropped;
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      connected = false;
      status.textContent = 'disconnected from the collector';
      status.className = 'stale';
    };
  };
  for (const [label, ms] of LIVE_RANGES) {
    const btn = h('button', { type: 'button', 'data-ms': String(ms), class: ms === state.windowMs ? 'on' : '' }, label);
    btn.addEventListener('click', () => {
      if (state.windowMs === ms) return;
      state.windowMs = ms;
      for (const x of rangeEl.querySelectorAll('button')) x.className = x === btn ? 'on' : '';
      // A longer look-back needs the collector's backfill: start over with it.
      data.marks.length = 0;
      data.trim(Infinity);
      data.lastT = 0;
      shape = '';
      connect();
    });
    rangeEl.append(btn, ' ');
  }
  connect();
  const timer = setInterval(redraw, 500);
  return () => {
    clearInterval(timer);
    aligned?.disconnect();
    ws?.close();
    for (const c of charts) c.plot.destroy();
  };
}
