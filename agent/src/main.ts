import { main } from './cli.js';

// The CLI entry is the one place that reads the process's arguments and environment.
const code = await main(process.argv.slice(2), process.env);
process.exitCode = code;
// A failed command exits now, whatever timers or sockets it left behind, so a supervisor sees
// the failure (stderr to a pipe or file is written synchronously on Linux: nothing is lost).
if (code !== 0) process.exit(code);
