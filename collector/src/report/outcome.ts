/** How a run ended, in words, for the report headers and the UI: exit code, or the interrupting signal. */
export function runOutcome(run: { endedAt: number | null; exitCode: number | null; signal?: string | null }): string {
  if (run.signal) return `interrupted by ${run.signal}${run.exitCode !== null ? ` (exit ${run.exitCode})` : ''}`;
  if (run.exitCode !== null) return `exit ${run.exitCode}`;
  return run.endedAt === null ? 'running or cut off (no end recorded)' : '';
}
