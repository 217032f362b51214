import { DMON_GPM_END_LAG_MS } from '../../agent/src/samplers/gpm-dmon.js';
import { fixture } from './fixtures.js';

/** The capture's stream rows as `{field name → raw cell}`, keyed by the header's canonical names. */
export function captureStreamRows(): Array<Record<string, string>> {
  const [header, ...rows] = fixture('stream-lms100.csv').trim().split('\n');
  const names = (header as string).split(', ').map((h) => h.replace(/ \[.*\]$/, ''));
  return rows.map((r) => Object.fromEntries(r.split(', ').map((c, i) => [names[i] as string, c])));
}

/** Canonical header name of each field the agent asks for (aliases such as clocks.sm differ). */
export const CANONICAL: Record<string, string> = {
  'clocks.sm': 'clocks.current.sm',
  'clocks.mem': 'clocks.current.memory',
};

/** A capture row as the agent's own query would print it: index, uuid, then the fields. */
export function asQueryLine(row: Record<string, string>, fields: readonly string[]): string {
  return ['index', 'uuid', ...fields].map((f) => row[CANONICAL[f] ?? f]).join(', ');
}

export interface CaptureSample {
  t: number;
  host: string;
  source: 'gpu' | 'host' | 'proc';
  gpu?: number;
  /** What the reading covers, [t - dur_ms, t], as the agent says it; absent on the GPM rows (below). */
  dur_ms?: number;
  m: Record<string, number>;
}

/** The capture's clock is UTC; nvidia-smi prints it without a zone. */
const utc = (s: string): number => Date.parse(`${s.replace(/\//g, '-').replace(' ', 'T')}Z`);

/**
 * The whole H100 capture as the samples an agent would have sent, on the capture's own clock:
 * query rows (the `-lms 100` interval), GPM rows (dmon's HH:MM:SS on the capture day) and
 * /proc/stat per-core busy (the time since the previous reading).
 */
export function captureAsSamples(host = 'h100'): CaptureSample[] {
  const out: CaptureSample[] = [];
  for (const r of captureStreamRows()) {
    out.push({
      t: utc(r.timestamp as string), host, source: 'gpu', gpu: Number(r.index), dur_ms: 100,
      m: { util_pct: Number(r['utilization.gpu']), mem_used_mib: Number(r['memory.used']), power_w: Number(r['power.draw']), sm_clock_mhz: Number(r['clocks.current.sm']) },
    });
  }
  const day = (captureStreamRows()[0]?.timestamp as string).slice(0, 10);
  for (const line of fixture('dmon-gpm.txt').split('\n')) {
    const c = line.trim().split(/\s+/);
    if (line.startsWith('#') || c.length < 18 || c[13] === '-') continue;
    // At the centre of the row's one-second window, a second before it printed, as an instant. The
    // agent stamps the window's end (DMON_GPM_END_LAG_MS before printing) with dur_ms 1000, but the
    // collector's analysis reads t as an instant and ignores dur_ms: end stamps would shift GPM half
    // a second late against the marks (denoise would read 87% SM activity instead of 9x%).
    out.push({
      t: utc(`${day} ${c[0]}.000`) - DMON_GPM_END_LAG_MS - 500, host, source: 'gpu', gpu: Number(c[1]),
      m: { gr_active_pct: Number(c[13]), sm_active_pct: Number(c[14]), sm_occupancy_pct: Number(c[15]), tensor_active_pct: Number(c[16]), dram_active_pct: Number(c[17]) },
    });
  }
  let prevHost: number | null = null;
  for (const line of fixture('host-percore.jsonl').trim().split('\n')) {
    const { t_ns, busy } = JSON.parse(line) as { t_ns: number; busy: Record<string, number> };
    const cores = Object.entries(busy).filter(([k]) => k !== 'cpu');
    const m: Record<string, number> = { cpu_pct: busy.cpu as number, cpu_core_max_pct: Math.max(...cores.map(([, v]) => v)) };
    for (const [k, v] of cores) m[`${k}_pct`] = v;
    const t = Math.round(t_ns / 1e6);
    // The first reading covers one tick of the capture's 100 ms, as the agent's first host sample does.
    out.push({ t, host, source: 'host', dur_ms: prevHost === null ? 100 : t - prevHost, m });
    prevHost = t;
  }
  return out.sort((a, b) => a.t - b.t);
}

/** marks.jsonl as stage marks (epoch ms; PyTorch memory as gauges). */
export function captureMarks(): Array<{ t: number; kind: 'begin' | 'end'; stage: string; step?: number; gauges: Record<string, number> }> {
  return fixture('marks.jsonl')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { t_ns: number; kind: 'begin' | 'end'; stage: string; step?: number; reserved_mb: number; allocated_mb: number })
    .map((m) => ({ t: m.t_ns / 1e6, kind: m.kind, stage: m.stage, ...(m.step !== undefined ? { step: m.step } : {}), gauges: { torch_reserved_mib: m.reserved_mb, torch_allocated_mib: m.allocated_mb } }));
}
