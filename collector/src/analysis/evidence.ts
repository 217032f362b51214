/** The evidence behind a label, in words: pure formatting of figures the report already holds. */
import { STATES, type Label, type Shares } from './thresholds.js';

/** Who the host-bound rule looked at, and what it saw (stage means). */
export type HostClause =
  | { kind: 'process'; pid: number; rank: number | null; threadPct: number; mapped: boolean }
  | { kind: 'workload threads'; threadPct: number }
  | { kind: 'workload cores'; cores: number }
  | { kind: 'busiest host core'; pct: number };

export interface LinkFigure {
  /** Busier direction, mean MiB/s. */
  mibps: number;
  /** Against capacity, or null where the capacity is unknown. */
  loadPct: number | null;
}

export interface LaneEvidence {
  /** "GPU 0", or "host" for a stage judged without GPU data. */
  who: string;
  label: Label;
  shares: Shares;
  noDataS: number;
  gpm: boolean;
  sm: number | null;
  util: number | null;
  tensor: number | null;
  nvlink: LinkFigure | null;
  pcie: LinkFigure | null;
  host: HostClause | null;
  diskMibps: number | null;
  offload: { share: number; h2dMibps: number } | null;
  majorityShare: number;
}

const pct = (v: number): string => `${Math.round(v)}%`;

/** "compute 82%, idle 18%": states with at least half a percent, largest first. */
export function sharesText(s: Shares): string {
  const parts = STATES.filter((k) => s[k] >= 0.005)
    .sort((a, b) => s[b] - s[a])
    .map((k) => `${k} ${pct(s[k] * 100)}`);
  return parts.length > 0 ? parts.join(', ') : 'no data';
}

function hostText(h: HostClause): string {
  switch (h.kind) {
    case 'process': {
      const who = h.rank !== null ? `rank ${h.rank} (pid ${h.pid})` : `pid ${h.pid}`;
      return h.mapped ? `${who}: busiest thread ${pct(h.threadPct)}` : `busiest workload process ${who} (not tied to a GPU): busiest thread ${pct(h.threadPct)}`;
    }
    case 'workload threads':
      return `the workload's busiest thread ${pct(h.threadPct)}`;
    case 'workload cores':
      return `the workload kept ${h.cores.toFixed(2)} cores busy`;
    case 'busiest host core':
      return `the busiest host core averaged ${pct(h.pct)} (host-wide; without workload samples another process may be the one busy)`;
  }
}

const linkText = (name: string, l: LinkFigure): string =>
  l.loadPct !== null ? `${name} at ${pct(l.loadPct)} of capacity (${Math.round(l.mibps)} MiB/s)` : `${name} ${Math.round(l.mibps)} MiB/s (capacity unknown)`;

/** One lane's evidence: shares first, then the figures that decided them. */
export function laneEvidence(e: LaneEvidence): string {
  const head = e.label === 'mixed' ? `mixed, no state above ${pct(e.majorityShare * 100)}: ${sharesText(e.shares)}` : sharesText(e.shares);
  const parts = [`${e.who}: ${head}`];
  if (e.sm !== null) parts.push(`SM activity ${pct(e.sm)} (util ${e.util === null ? 'n/a' : pct(e.util)}${e.tensor !== null ? `, tensor ${pct(e.tensor)}` : ''})`);
  else if (e.util !== null) parts.push(`util ${pct(e.util)} (${e.gpm ? 'no GPM sample in this stage' : 'no GPM: SM activity unknown'})`);
  if (e.nvlink) parts.push(linkText('NVLink', e.nvlink));
  if (e.pcie && (e.shares.communication > 0 || e.offload)) parts.push(linkText('PCIe', e.pcie));
  if (e.host && (e.shares['host-bound'] > 0 || e.label === 'mixed')) parts.push(hostText(e.host));
  if (e.diskMibps !== null && e.shares.io > 0) parts.push(`the disks moved ${Math.round(e.diskMibps)} MiB/s`);
  if (e.offload) parts.push(`host-to-device PCIe busy ${pct(e.offload.share * 100)} of the time at ${Math.round(e.offload.h2dMibps)} MiB/s on average (weights swapped in?)`);
  if (e.noDataS >= 0.05) parts.push(`no data for ${e.noDataS.toFixed(1)} s`);
  return parts.join('; ');
}

/** A stage's evidence from its lanes. */
export function stageEvidence(label: Label, shares: Shares, lanes: readonly string[], leftOut: readonly number[], fromHost: boolean): string {
  const note = leftOut.length > 0 ? ` (GPU${leftOut.length > 1 ? 's' : ''} ${leftOut.join(', ')} left out: idle all run, or not the workload's)` : '';
  if (fromHost) return `no GPU data in this stage; ${lanes[0] ?? 'no host data either'}`;
  if (lanes.length <= 2) return lanes.join(' | ') + note;
  const head = label === 'mixed' ? `mixed over ${lanes.length} GPUs: ${sharesText(shares)}` : `${lanes.length} GPUs: ${sharesText(shares)}`;
  return `${head}${note}; ${lanes[0]}`;
}
