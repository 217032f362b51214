import type uPlot from 'uplot';
import { makeChart, type Band, type SeriesDef } from './charts.js';
import { leafIntervals } from '../src/report/leaves.js';
import { h, token } from './dom.js';

interface LiveSample {
  t: number;
  source: 'gpu' | 'host' | 'proc';
  gpu?: number;
  pid?: number;
  m: Record<string, number>;
}
interface LiveMark {
  t: number;
  kind: 'begin' | 'end';
  stage: string;
  step?: number;
}
type LiveMessage =
  | { type: 'hello'; host: string; runId: string | null; samples: LiveSample[]; marks: LiveMark[] }
  | { type: 'update'; runId: string | null; samples: LiveSample[]; marks: LiveMark[]; dropped: number };

const BIN_MS = 250;
const WINDOW_MS = 5 * 60_000;

export interface LiveState {
  page: 'host';
  updates: number;
  points: number;
  lastT: number;
  bands: number;
  stage: string;
  dropped: number;
}

/** The live view of one host: charts that move, stage bands, the stage running now. */
export function liveHost(root: HTMLElement, host: string, state: LiveState): () => void {
  const bins = new Map<number, Map<string, number>>();
  const marks: LiveMark[] = [];
  const gpus = new Set<number>();
  const cores = new Set<number>();
  let runId: string | null = null;
  const stageEl = h('strong', { id: 'current-stage' }, '–');
  const runEl = h('span', { id: 'live-run' }, '');
  const status = h('span', { class: 'muted', id: 'live-status' }, 'connecting…');
  const chartsEl = h('div', { class: 'charts' });
  root.append(h('h1', {}, 'Host ', h('code', {}, host)), h('p', {}, 'Run ', runEl, ' · stage now: ', stageEl, ' · ', status), chartsEl);

  const add = (samples: LiveSample[]): void => {
    for (const s of samples) {
      // One workload process (pid) is not the tree total the workload chart shows.
      if (s.pid !== undefined) continue;
      for (const [k, v] of Object.entries(s.m)) {
        const bin = Math.floor(s.t / BIN_MS) * BIN_MS;
        let row = bins.get(bin);
        if (!row) bins.set(bin, (row = new Map()));
        row.set(s.source === 'gpu' ? `gpu${s.gpu}.${k}` : `${s.source}.${k}`, v);
        const core = /^cpu(\d+)_pct$/.exec(k);
        if (core) cores.add(Number(core[1]));
      }
      if (s.source === 'gpu' && s.gpu !== undefined) gpus.add(s.gpu);
      state.lastT = Math.max(state.lastT, s.t);
    }
  };

  const bands = (): Band[] => {
    const open = new Map<string, number>();
    const out: Band[] = [];
    for (const m of [...marks].sort((a, b) => a.t - b.t)) {
      if (m.step !== undefined) continue;
      if (m.kind === 'begin') open.set(m.stage, m.t);
      else if (open.has(m.stage)) {
        out.push({ name: m.stage, start: (open.get(m.stage) as number) / 1000, end: m.t / 1000 });
        open.delete(m.stage);
      }
    }
    const now = state.lastT || Date.now();
    for (const [name, t] of open) out.push({ name, start: t / 1000, end: now / 1000 });
    return leafIntervals(out, (b) => b.start, (b) => b.end);
  };
  // Worked out once a redraw; every chart's band hook reads this.
  let currentBands: Band[] = [];

  let charts: Array<{ plot: uPlot; keys: string[] }> = [];
  let shape = '';
  const build = (): void => {
    for (const c of charts) c.plot.destroy();
    chartsEl.replaceChildren();
    const g = [...gpus].sort((a, b) => a - b);
    const width = Math.max(400, Math.min(1400, root.clientWidth || 1000) - 20);
    const defs: Array<[string, string, Array<SeriesDef & { key: string }>]> = [
      ['GPU utilization vs SM activity', '%', g.flatMap((i) => [{ key: `gpu${i}.util_pct`, label: `GPU ${i} util` }, { key: `gpu${i}.sm_active_pct`, label: `GPU ${i} SM active`, dash: true }])],
      ['GPU memory used', 'MiB', g.map((i) => ({ key: `gpu${i}.mem_used_mib`, label: `GPU ${i}` }))],
      ['GPU power', 'W', g.map((i) => ({ key: `gpu${i}.power_w`, label: `GPU ${i}` }))],
      ['CPU per core', '%', [...cores].sort((a, b) => a - b).map((c) => ({ key: `host.cpu${c}_pct`, label: `cpu${c}` }))],
      ['Workload CPU', 'cores', [{ key: 'proc.cpu_cores', label: 'workload cores' }]],
    ];
    charts = defs
      .filter(([, , d]) => d.length > 0)
      .map(([title, unit, d]) => {
        const el = h('div', { class: 'chart', 'data-title': title });
        chartsEl.append(el);
        return { plot: makeChart(el, title, unit, d, () => currentBands, width), keys: d.map((x) => x.key) };
      });
  };

  const redraw = (): void => {
    const b = (currentBands = bands());
    const cutoff = (state.lastT || Date.now()) - WINDOW_MS;
    for (const b of bins.keys()) if (b < cutoff) bins.delete(b);
    const nowShape = `${[...gpus].join()}|${[...cores].join()}`;
    if (nowShape !== shape) {
      shape = nowShape;
      build();
    }
    const xs = [...bins.keys()].sort((a, b) => a - b);
    for (const c of charts) {
      const data = [xs.map((x) => x / 1000), ...c.keys.map((k) => xs.map((x) => bins.get(x)?.get(k) ?? null))];
      c.plot.setData(data as uPlot.AlignedData);
    }
    const open = b.filter((x) => x.end * 1000 >= (state.lastT || 0) - 1);
    stageEl.textContent = open.at(-1)?.name ?? '–';
    runEl.textContent = runId ?? '–';
    Object.assign(state, { points: xs.length, bands: b.length, stage: stageEl.textContent });
    state.updates++;
  };

  const t = token();
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live?host=${encodeURIComponent(host)}${t ? `&token=${encodeURIComponent(t)}` : ''}`);
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data)) as LiveMessage;
    runId = msg.runId;
    add(msg.samples);
    marks.push(...msg.marks);
    if (msg.type === 'update') state.dropped = msg.dropped;
    status.textContent = msg.type === 'update' && msg.dropped > 0 ? `live (skipped ${msg.dropped} samples to keep up)` : 'live';
  };
  ws.onclose = () => (status.textContent = 'disconnected');
  const timer = setInterval(redraw, 500);
  return () => {
    clearInterval(timer);
    ws.close();
    for (const c of charts) c.plot.destroy();
  };
}
