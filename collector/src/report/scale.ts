/**
 * The y range a chart shows. Auto-scaling to the data's own min and max makes a flat power draw
 * of 74.0–74.3 W fill the chart like a swing; each unit gets a smallest span instead (and % is
 * always 0–100), so small noise looks small. Shared by the HTML report and the web UI.
 */
const MIN_SPAN: Record<string, number> = {
  W: 50,
  MiB: 1024,
  'MiB/s': 10,
  cores: 1,
  '°C': 10,
  MHz: 200,
  count: 10,
};

export function yRange(unit: string, values: Iterable<number | null | undefined>): [number, number] {
  if (unit === '%') return [0, 100];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = MIN_SPAN[unit] ?? 1;
  if (lo === Infinity) return [0, span];
  // Rates, memory, cores and counts start at zero: their size is the point.
  if (lo >= 0 && unit !== 'W' && unit !== '°C' && unit !== 'MHz') return [0, Math.max(hi * 1.05, span)];
  if (hi - lo >= span) {
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }
  const mid = (lo + hi) / 2;
  const low = Math.max(lo >= 0 ? 0 : -Infinity, mid - span / 2);
  return [low, low + span];
}
