/** One colour per bottleneck label, shared by the HTML report and the web UI. */
export const BOTTLENECK_COLORS: Record<string, string> = {
  'gpu-compute': '#2da44e',
  'gpu-waiting': '#bf8700',
  communication: '#0969da',
  'host-cpu': '#cf222e',
  io: '#8250df',
  idle: '#8c959f',
  mixed: '#57606a',
};
