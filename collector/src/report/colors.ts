/** One colour per state and label, shared by the HTML report and the web UI. */
export const BOTTLENECK_COLORS: Record<string, string> = {
  compute: '#2da44e',
  communication: '#0969da',
  waiting: '#bf8700',
  'host-bound': '#cf222e',
  io: '#8250df',
  idle: '#8c959f',
  mixed: '#57606a',
  'no-data': '#d0d7de',
};
