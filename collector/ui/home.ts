import { fmt, getJson, h, withToken } from './dom.js';
import { runOutcome } from '../src/report/outcome.js';
import type { HostSeen, RunSummary } from '../src/store/rows.js';
import { STALE_AFTER_MS } from './live-data.js';
import { ago, duration, TZ_NOTE, utc } from './time-format.js';


export interface HomeState {
  page: 'home';
  runs: number;
  selected: string[];
}

const link = (hash: string, text: string): HTMLAnchorElement => h('a', { href: withToken(location.pathname) + hash }, text);

const labelsText = (l: RunSummary['labels']): string => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(', ');

/**
 * The hosts streaming now (or not any more) and the stored runs, with a picker: two runs open the
 * stage-by-stage comparison, two or more the configurations' comparison (the first picked is the
 * baseline).
 */
export async function home(root: HTMLElement, state: HomeState): Promise<() => void> {
  const [runs, hosts] = await Promise.all([getJson<RunSummary[]>('/api/runs'), getJson<HostSeen[]>('/api/hosts')]);
  const now = Date.now();
  const compare = h('button', { type: 'button', id: 'compare', disabled: '' }, 'Compare the two selected runs');
  const configs = h('button', { type: 'button', id: 'compare-configs', disabled: '' }, 'Compare configurations');
  const hint = h('span', { class: 'muted', id: 'compare-hint' }, 'select two runs');
  const picked: string[] = [];
  const update = (): void => {
    state.selected = [...picked];
    compare.toggleAttribute('disabled', picked.length !== 2);
    configs.toggleAttribute('disabled', picked.length < 2);
    hint.textContent =
      picked.length === 2 ? `${picked[0]} against ${picked[1]}`
      : picked.length > 2 ? `${picked.length - 1} runs against the baseline ${picked[0]}`
      : `select ${2 - picked.length} run${picked.length === 1 ? '' : 's'}`;
  };
  compare.addEventListener('click', () => {
    if (picked.length === 2) location.hash = `#/run/${encodeURIComponent(picked[0] as string)}?vs=${encodeURIComponent(picked[1] as string)}`;
  });
  configs.addEventListener('click', () => {
    if (picked.length < 2) return;
    const [baseline, ...others] = picked as [string, ...string[]];
    location.hash = `#/compare?baseline=${encodeURIComponent(baseline)}&runs=${others.map(encodeURIComponent).join(',')}`;
  });
  const runRows = runs
    .filter((r) => r.kind === 'run')
    .map((r) => {
      const box = h('input', { type: 'checkbox', class: 'pick', 'data-run': r.id, 'aria-label': `select ${r.id}` });
      box.addEventListener('change', () => {
        const i = picked.indexOf(r.id);
        if (box.checked && i < 0) picked.push(r.id);
        if (!box.checked && i >= 0) picked.splice(i, 1);
        update();
      });
      const took = r.endedAt !== null ? duration(r.endedAt - r.startedAt) : `running ${duration(now - r.startedAt)}`;
      return h('tr', { 'data-run': r.id },
        h('td', {}, box),
        h('td', {}, link(`#/run/${encodeURIComponent(r.id)}`, r.id)),
        h('td', {}, r.hosts.join(', ')),
        h('td', { class: 'labels' }, labelsText(r.labels) || '–'),
        h('td', {}, utc(r.startedAt)),
        h('td', { class: 'num duration' }, took),
        h('td', { class: r.signal ? 'interrupted' : '' }, runOutcome(r) || '–'),
      );
    });
  state.runs = runRows.length;
  root.append(
    h('h1', {}, 'stagewatch'),
    h('h2', {}, 'Hosts'),
    h('table', { id: 'hosts' }, h('thead', {}, h('tr', {}, ...['host', 'GPUs', 'streaming to', 'last heard'].map((c) => h('th', {}, c)))),
      h('tbody', {}, ...hosts.map((x) => h('tr', {},
        h('td', {}, link(`#/host/${encodeURIComponent(x.host)}`, x.host)),
        h('td', {}, x.gpus.length ? `${x.gpus.length}× ${[...new Set(x.gpus.map((g) => g.name))].join(', ')}` : '–'),
        h('td', {}, x.runId),
        h('td', { class: now - x.lastSeen < STALE_AFTER_MS * 3 ? 'live' : 'stale' }, now - x.lastSeen < STALE_AFTER_MS * 3 ? 'live' : `stopped ${ago(now - x.lastSeen)}`),
      )))),
    h('h2', {}, 'Runs'),
    h('p', {}, compare, ' ', configs, ' ', hint),
    h('table', { id: 'runs' }, h('thead', {}, h('tr', {}, ...['', 'run', 'hosts', 'labels', 'started', 'took', 'ended'].map((c) => h('th', {}, c)))), h('tbody', {}, ...runRows)),
    h('p', { class: 'muted' }, runRows.length === 0 ? 'No runs yet: `stagewatch-agent run --collector ... -- python generate.py` records one.' : ''),
    h('p', { class: 'muted' }, TZ_NOTE, ` · ${fmt(runRows.length)} runs`),
  );
  update();
  return () => {};
}
