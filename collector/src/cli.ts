import { COMMON_USAGE, runCli, type CommandSpec, type Environment } from '@stagewatch/shared';
import { compareCommand } from './commands/compare.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { reportCommand } from './commands/report.js';
import { serveCommand } from './commands/serve.js';

const SERVE = `serve [--host 127.0.0.1] [--port 7711] [--data ./stagewatch-data | --store postgres://U@H/DB] [--token T | --tokens-file F]
        [--tls-cert F --tls-key F] [--heartbeat-ms 10000] [--hello-timeout-ms 10000] [--max-payload-mib 16]
        [--influx-url URL --influx-org O --influx-bucket B [--influx-token T]]
        [--retain-raw 0] [--retain-1s 30d] [--retain-10s 0]
        ${COMMON_USAGE}`;
const REPORT = `report <runId> [--vs <runId>] [--format md|json|html] [--data DIR | --store URL] [--thresholds FILE] [--out FILE]`;
const COMPARE = `compare --baseline <runId> <runId>... [--metrics a,b] [--format md|json|html|csv] [--by config|run]
          [--confidence 0.95] [--data DIR | --store URL] [--out FILE]`;
const EXPORT = `export <runId> [--data DIR | --store URL] [--out FILE]`;
const IMPORT = `import FILE... [--data DIR | --store URL] [--partial]`;

const COMMANDS: Record<string, CommandSpec> = {
  serve: {
    run: serveCommand,
    usage: `usage: stagewatch-collector ${SERVE}
  Receives agents at ws[s]://HOST:PORT/agent, stores every sample once in DATA/stagewatch.sqlite
  (one collector per data directory: a second one is refused), and serves the web UI, /api/*,
  /metrics and /healthz. Off loopback a token is required (--token, --tokens-file or
  STAGEWATCH_TOKEN). --influx-* (or STAGEWATCH_INFLUX_URL, _TOKEN, _ORG, _BUCKET) also writes
  everything to InfluxDB 2 or VictoriaMetrics. A config file (YAML or JSON) takes the long flag
  names as keys (port: 7711, data: /var/lib/stagewatch); flags override it. Exits non-zero if it
  cannot listen or the data directory is held by another collector.
  Retention (docs/STORE.md): readings are kept as sent for --retain-raw (default 0: for good), then as 1 s means (with
  min and max) until --retain-1s, then as 10 s means until --retain-10s; 0 keeps a resolution for
  good. DURATION: a whole number and s, m, h, d or w (7d, 36h). Marks and runs are never pruned.
  --store postgres://USER[:PASSWORD]@HOST[:PORT]/DB (or STAGEWATCH_PG_URL) stores into PostgreSQL
  instead of DATA: several collectors may share one database (behind one address), each serving
  every run's report, series, UI and live view; retention runs there too, one collector of the
  database pruning at a time. --influx-* does not run with it (docs/STORE.md).`,
  },
  report: {
    run: reportCommand,
    usage: `usage: stagewatch-collector ${REPORT}
  The per-stage bottleneck report of a stored run, read from DIR/stagewatch.sqlite (default
  ./stagewatch-data: the collector's --data directory); --vs adds a stage-by-stage comparison.
  It never creates a store: a missing one is an error naming the path. --store URL reads the run
  from a PostgreSQL store (the serve flag's) instead.`,
  },
  compare: {
    run: compareCommand,
    usage: `usage: stagewatch-collector ${COMPARE}
  Tabulates the runs (request total, step mean, communication, reserved memory, span:<name>;
  --metrics picks them) against the baseline: runs with the same labels (run --label) form one
  configuration row (--by run: one row per run), each change with its --confidence interval and
  a verdict. Figures on different clocks are marked not comparable. Reads DIR/stagewatch.sqlite
  (default ./stagewatch-data), or a PostgreSQL store (--store URL), and never creates a store.`,
  },
  export: {
    run: exportCommand,
    usage: `usage: stagewatch-collector ${EXPORT}
  Writes a stored run (samples, marks, host and workload fingerprints, labels, its end) to one
  portable run file (default ./<runId>.swrun.gz; an existing file is never overwritten) that
  import restores elsewhere with the same report. Reads DIR/stagewatch.sqlite (or a PostgreSQL
  store: --store URL), never creates it.`,
  },
  import: {
    run: importCommand,
    usage: `usage: stagewatch-collector ${IMPORT}
  Stores run files (stagewatch-agent run/daemon/sample --out, or export) in DIR/stagewatch.sqlite
  (default ./stagewatch-data, created if missing) as if streamed: each (agent, seq) once, so
  importing a file again stores nothing new and says so. Every line is checked first and each
  file is one transaction: a bad file (named by line and field) stores nothing. A file cut short
  is refused; --partial keeps its whole lines before the cut and says which batches those are.
  Stop the collector that serves DIR first: the two must not write at once. --store URL imports
  into a PostgreSQL store (the serve flag's) instead, while its collectors keep running.`,
  },
};

const USAGE = `usage: stagewatch-collector <command> [flags]    (stagewatch-collector <command> --help for more)
  ${SERVE}
  ${REPORT}
  ${COMPARE}
  ${EXPORT}
  ${IMPORT}
  --version`;

export function main(argv: string[], env: Environment): Promise<number> {
  return runCli('stagewatch-collector', USAGE, COMMANDS, argv, env);
}
