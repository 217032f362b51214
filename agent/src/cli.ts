import { runCli, type Command } from '@stagewatch/shared';
import { probeCommand } from './commands/probe.js';
import { sampleCommand } from './commands/sample.js';
import { daemonCommand } from './commands/daemon.js';
import { marksCommand } from './commands/marks.js';
import { runCommand } from './commands/run.js';

const USAGE = `usage: stagewatch-agent <command> [flags]
  probe [--json]                                   what this host can sample
  sample --duration-s S [--interval-ms N] [--pid P] [--host NAME] [--gpu-backend auto|nvml|nvidia-smi]
                                                   print samples as JSON lines for S seconds
  daemon --collector URL [--token T] [--run-id ID] [--interval-ms 1000] [--batch-ms 500]
         [--spool-dir DIR] [--spool-max-mib 256] [--pid P] [--host NAME] [--tee FILE]
         [--gpu-backend auto|nvml|nvidia-smi]
                                                   stream to a collector until stopped
  run --collector URL [--run-id ID] [--preset wan | --stages FILE] [--marks FILE] [--interval-ms 100]
      [--label key=value]... [daemon's flags] -- <command> [args...]
                                                   run a workload as one staged run
  marks --collector URL --run-id ID [--shift-ms N] FILE
                                                   import stage marks into a run after the fact`;

const COMMANDS: Record<string, Command> = {
  probe: probeCommand,
  sample: sampleCommand,
  daemon: daemonCommand,
  run: runCommand,
  marks: marksCommand,
};

export function main(argv: string[]): Promise<number> {
  return runCli('stagewatch-agent', USAGE, COMMANDS, argv);
}
