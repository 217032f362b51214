import { COMMON_USAGE, runCli, type CommandSpec, type Environment } from '@stagewatch/shared';
import { probeCommand } from './commands/probe.js';
import { sampleCommand } from './commands/sample.js';
import { daemonCommand } from './commands/daemon.js';
import { marksCommand } from './commands/marks.js';
import { runCommand } from './commands/run.js';

const BACKEND = '[--gpu-backend auto|nvml|nvidia-smi]';
const STREAM = `--collector URL | --out FILE [--token T] [--run-id ID] [--host NAME] [--interval-ms N] [--batch-ms 500]
      [--frames json|columnar] [--spool-dir DIR] [--spool-max-mib 256] [--heartbeat-ms 10000] [--backoff-max-ms 30000]
      [--drain-s S] [--tee FILE] ${BACKEND} [--no-dcgm] [--fingerprint-file F]
      ${COMMON_USAGE}`;
const COLLECTOR_NOTE = `URL is the collector's address, ws[s]://HOST:7711 (with or without /agent; http[s]:// works too).
Several, comma-separated (ws://a:7711,ws://b:7711), are tried in order: the agent sends to one at
a time and moves to the next when its link breaks (README, "Several collectors").
The token may also come from STAGEWATCH_TOKEN. A config file (YAML or JSON) takes the long flag
names as keys (collector: ws://c:7711, interval-ms: 1000); flags override it.
--no-dcgm never starts DCGM profiling (SM activity then comes from GPM, or not at all); SIGUSR2
pauses and resumes it, so Nsight can profile meanwhile. --fingerprint-file announces a host
fingerprint saved earlier (probe --fingerprint) instead of reading this host's.
--frames columnar sends batches as columnar frames where the collector takes them: the collector
stores far more samples per core, the agent spends ~0.4 % of a core more at 10 Hz (JSON: the default).
--out FILE writes what is streamed to a portable run file (a new file; docs/PORTABLE.md), with
--collector too or alone, on a host that cannot reach one: stagewatch-collector import FILE
stores it later, with the same report.`;
const DCGM_NOTE = `--no-dcgm leaves DCGM alone (SM activity then comes from GPM, or not at all).`;

const COMMANDS: Record<string, CommandSpec> = {
  probe: {
    run: probeCommand,
    usage: `usage: stagewatch-agent probe [--json | --fingerprint] [--no-dcgm]
  What this host can sample: nvidia-smi, NVML, GPUs, GPM, DCGM profiling, where SM activity comes
  from, the fields the driver knows. --fingerprint prints the host fingerprint the agent sends in
  its hello (hardware, driver, software), with the raw answers it was read from, as JSON.
  ${DCGM_NOTE}`,
  },
  sample: {
    run: sampleCommand,
    usage: `usage: stagewatch-agent sample --duration-s S [--interval-ms 1000] [--pid P] [--host NAME] ${BACKEND}
      [--no-dcgm] [--out FILE [--run-id ID]] ${COMMON_USAGE}
  Prints samples and sampler health as JSON lines on stdout for S seconds, then exits. --out
  writes them instead to a portable run file (a new file), one run (--run-id, or a new id) that
  stagewatch-collector import stores later.
  ${DCGM_NOTE} SIGUSR2 pauses and resumes DCGM profiling.`,
  },
  daemon: {
    run: daemonCommand,
    usage: `usage: stagewatch-agent daemon ${STREAM}
      [--pid P]
  Streams this host (and the process tree of --pid) to a collector until SIGTERM/SIGINT; what the
  collector has not acknowledged stays in the spool for the next start. --interval-ms defaults to
  1000, --drain-s to 10.
  ${COLLECTOR_NOTE}`,
  },
  run: {
    run: runCommand,
    usage: `usage: stagewatch-agent run ${STREAM}
      [--preset wan | --stages FILE] [--marks FILE] [--label key=value]... -- <command> [args...]
  Runs the workload as one staged run: its output and exit code pass through unchanged, its
  process tree is sampled, its log lines (--preset/--stages) and posted marks become stages.
  --label (repeatable; a list under label: in a config file) says what configuration the run is:
  runs with the same labels are repeats of one configuration in compare.
  An interrupted workload (Ctrl-C) is recorded with its signal. --interval-ms defaults to 100,
  --drain-s to 30.
  ${COLLECTOR_NOTE}`,
  },
  marks: {
    run: marksCommand,
    usage: `usage: stagewatch-agent marks --collector URL | --out FILE --run-id ID [--shift-ms N] [--token T]
      [--spool-dir DIR] [--drain-s 30] FILE
  Imports stage marks (marks.jsonl, or JSON lines with t) into a run after the fact. --out writes
  them to a portable run file (a new file) as well, or instead with no --collector, for
  stagewatch-collector import to add to the run.`,
  },
};

const USAGE = `usage: stagewatch-agent <command> [flags]        (stagewatch-agent <command> --help for more)
  probe [--json | --fingerprint] [--no-dcgm]      what this host can sample
  sample --duration-s S [--interval-ms N] [--pid P] [--host NAME] ${BACKEND} [--no-dcgm]
         [--out FILE [--run-id ID]]               print samples as JSON lines for S seconds
  daemon --collector URL | --out FILE [--token T] [--run-id ID] [--interval-ms 1000] [--batch-ms 500]
         [--spool-dir DIR] [--spool-max-mib 256] [--pid P] [--host NAME] [--tee FILE] ${BACKEND}
         [--no-dcgm] [--fingerprint-file F] ${COMMON_USAGE}
                                                   stream to a collector until stopped
  run --collector URL | --out FILE [--run-id ID] [--preset wan | --stages FILE] [--marks FILE] [--interval-ms 100]
      [--label key=value]... [daemon's flags] -- <command> [args...]
                                                   run a workload as one staged run
  marks --collector URL | --out FILE --run-id ID [--shift-ms N] FILE
                                                   import stage marks into a run after the fact
  --version                                        print the version`;

export function main(argv: string[], env: Environment): Promise<number> {
  return runCli('stagewatch-agent', USAGE, COMMANDS, argv, env);
}
