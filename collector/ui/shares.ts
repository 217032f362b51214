import { STATES, type Shares } from '../src/analysis/labels.js';
import { BOTTLENECK_COLORS, h } from './dom.js';

/** A stage's time shares as one stacked bar (the HTML report draws the same in SVG). */
export function sharesBar(shares: Shares | undefined, noDataS = 0): HTMLElement {
  const bar = h('div', { class: 'shares' });
  if (!shares) return bar;
  for (const s of STATES) {
    if (!(shares[s] > 0)) continue;
    const seg = h('span', { title: `${s} ${Math.round(shares[s] * 100)}%` });
    seg.style.width = `${shares[s] * 100}%`;
    seg.style.background = BOTTLENECK_COLORS[s] ?? '#57606a';
    bar.append(seg);
  }
  if (noDataS >= 0.05) bar.title = `no data for ${noDataS.toFixed(1)} s`;
  return bar;
}
