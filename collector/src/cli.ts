import { runCli, type Command } from '@stagewatch/shared';
import { compareCommand } from './commands/compare.js';
import { reportCommand } from './commands/report.js';
import { serveCommand } from './commands/serve.js';

const USAGE = `usage: stagewatch-collector <command> [flags]
  serve [--host 127.0.0.1] [--port 7711] [--data ./stagewatch-data] [--token T | --tokens-file F]
        [--tls-cert F --tls-key F] [--heartbeat-ms 10000] [--max-payload-mib 16]
  report <runId> [--vs <runId>] [--format md|json|html] [--data DIR] [--thresholds FILE] [--out FILE]
  compare --baseline <runId> <runId>... [--metrics a,b] [--format md|json|html|csv] [--by config|run]
          [--confidence 0.95] [--data DIR] [--out FILE]`;

const COMMANDS: Record<string, Command> = { serve: serveCommand, report: reportCommand, compare: compareCommand };

export function main(argv: string[]): Promise<number> {
  return runCli('stagewatch-collector', USAGE, COMMANDS, argv);
}
