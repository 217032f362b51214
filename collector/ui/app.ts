import { AuthError, h, withToken } from './dom.js';
import { home, type HomeState } from './home.js';
import { liveHost, type LiveState } from './live.js';
import { comparePage, type CompareState } from './compare.js';
import { runPage, type RunState } from './run.js';
import { tokenPrompt } from './token.js';
import './style.css';

declare global {
  interface Window {
    __stagewatch: { ready: boolean; error: string | null; auth?: boolean; home?: HomeState; live?: LiveState; run?: RunState; compare?: CompareState };
  }
}

let cleanup: () => void = () => {};
async function route(): Promise<void> {
  cleanup();
  cleanup = () => {};
  const root = document.getElementById('app') as HTMLElement;
  root.replaceChildren();
  window.__stagewatch = { ready: false, error: null };
  document.getElementById('home')?.setAttribute('href', withToken(location.pathname));
  const [path, query] = location.hash.slice(1).split('?') as [string, string | undefined];
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'host' && parts[1]) {
      const state: LiveState = { page: 'host', updates: 0, points: 0, lastT: 0, bands: 0, stage: '', dropped: 0, stale: false, windowMs: 5 * 60_000, charts: 0, xSpanMs: 0, yRanges: {} };
      window.__stagewatch.live = state;
      cleanup = await liveHost(root, parts[1], state);
    } else if (parts[0] === 'run' && parts[1]) {
      const state: RunState = { page: 'run', stages: 0, compareRows: 0, charts: 0 };
      window.__stagewatch.run = state;
      cleanup = await runPage(root, parts[1], new URLSearchParams(query ?? '').get('vs'), state);
    } else if (parts[0] === 'compare') {
      const state: CompareState = { page: 'compare', rows: 0, metrics: 0 };
      window.__stagewatch.compare = state;
      cleanup = await comparePage(root, new URLSearchParams(query ?? ''), state);
    } else {
      const state: HomeState = { page: 'home', runs: 0, selected: [] };
      window.__stagewatch.home = state;
      cleanup = await home(root, state);
    }
  } catch (e) {
    window.__stagewatch.error = (e as Error).message;
    root.replaceChildren();
    if (e instanceof AuthError) {
      window.__stagewatch.auth = false;
      tokenPrompt(root, e.message);
    } else root.append(h('p', { class: 'error' }, (e as Error).message));
  }
  window.__stagewatch.ready = true;
}

window.addEventListener('hashchange', () => void route());
void route();
