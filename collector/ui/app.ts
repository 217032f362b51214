import { fmt, getJson, h, withToken } from './dom.js';
import { liveHost, type LiveState } from './live.js';
import { comparePage, type CompareState } from './compare.js';
import { runPage, type RunState } from './run.js';
import './style.css';

interface RunRow {
  id: string;
  kind: string;
  hosts: string[];
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
}
interface HostRow {
  host: string;
  runId: string;
  lastSeen: number;
  gpus: Array<{ index: number; name: string }>;
}

declare global {
  interface Window {
    __stagewatch: { ready: boolean; error: string | null; live?: LiveState; run?: RunState; compare?: CompareState };
  }
}

const link = (hash: string, text: string): HTMLAnchorElement => h('a', { href: withToken(location.pathname) + hash }, text);

async function home(root: HTMLElement): Promise<() => void> {
  const [runs, hosts] = await Promise.all([getJson<RunRow[]>('/api/runs'), getJson<HostRow[]>('/api/hosts')]);
  const now = Date.now();
  root.append(
    h('h1', {}, 'stagewatch'),
    h('h2', {}, 'Hosts'),
    h('table', { id: 'hosts' }, h('thead', {}, h('tr', {}, h('th', {}, 'host'), h('th', {}, 'GPUs'), h('th', {}, 'streaming to'), h('th', {}, 'last heard'))),
      h('tbody', {}, ...hosts.map((x) => h('tr', {}, h('td', {}, link(`#/host/${encodeURIComponent(x.host)}`, x.host)), h('td', {}, x.gpus.map((g) => g.name).join(', ') || '–'), h('td', {}, x.runId), h('td', {}, now - x.lastSeen < 30_000 ? 'live' : `${fmt((now - x.lastSeen) / 1000)} s ago`))))),
    h('h2', {}, 'Runs'),
    h('table', { id: 'runs' }, h('thead', {}, h('tr', {}, h('th', {}, 'run'), h('th', {}, 'hosts'), h('th', {}, 'started'), h('th', {}, 'ended'), h('th', {}, 'exit'))),
      h('tbody', {}, ...runs.filter((r) => r.kind === 'run').map((r) => h('tr', {}, h('td', {}, link(`#/run/${encodeURIComponent(r.id)}`, r.id)), h('td', {}, r.hosts.join(', ')), h('td', {}, new Date(r.startedAt).toISOString()), h('td', {}, r.endedAt ? new Date(r.endedAt).toISOString() : 'running'), h('td', {}, r.exitCode === null ? '–' : String(r.exitCode)))))),
    h('p', { class: 'muted' }, 'Compare two runs: #/run/A?vs=B · configurations over N runs: #/compare?baseline=A&runs=B,C'),
  );
  return () => {};
}

let cleanup: () => void = () => {};
async function route(): Promise<void> {
  cleanup();
  const root = document.getElementById('app') as HTMLElement;
  root.replaceChildren();
  window.__stagewatch = { ready: false, error: null };
  const [path, query] = location.hash.slice(1).split('?') as [string, string | undefined];
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'host' && parts[1]) {
      const state: LiveState = { page: 'host', updates: 0, points: 0, lastT: 0, bands: 0, stage: '', dropped: 0 };
      window.__stagewatch.live = state;
      cleanup = liveHost(root, parts[1], state);
    } else if (parts[0] === 'run' && parts[1]) {
      const state: RunState = { page: 'run', stages: 0, compareRows: 0, charts: 0 };
      window.__stagewatch.run = state;
      cleanup = await runPage(root, parts[1], new URLSearchParams(query ?? '').get('vs'), state);
    } else if (parts[0] === 'compare') {
      const state: CompareState = { page: 'compare', rows: 0, metrics: 0 };
      window.__stagewatch.compare = state;
      cleanup = await comparePage(root, new URLSearchParams(query ?? ''), state);
    } else cleanup = await home(root);
  } catch (e) {
    window.__stagewatch.error = (e as Error).message;
    root.append(h('p', { class: 'error' }, (e as Error).message));
  }
  window.__stagewatch.ready = true;
}

window.addEventListener('hashchange', () => void route());
void route();
