/** Times as the pages show them: UTC (stated), and durations in words a person reads at a glance. */
export const utc = (ms: number): string => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const hrs = Math.floor(m / 60);
  return `${hrs} h ${m - hrs * 60} min`;
}

/** "12 s ago", "5 min ago". */
export const ago = (ms: number): string => `${duration(ms)} ago`;

export const TZ_NOTE = 'Times in UTC.';
