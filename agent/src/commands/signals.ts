/** SIGUSR2 pauses DCGM profiling (so Nsight can profile) and resumes it; returns the unhook. */
export function onDcgmPauseSignal(sampling: { toggleDcgmPause(): string | null }, log: (m: string) => void): () => void {
  const toggle = (): void => log(sampling.toggleDcgmPause() ?? 'SIGUSR2: no DCGM profiling to pause on this host');
  process.on('SIGUSR2', toggle);
  return () => void process.off('SIGUSR2', toggle);
}
