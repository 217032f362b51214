import { errorMessage, isStagewatchError } from '@stagewatch/shared';
import { reportCommand } from './commands/report.js';
import { serveCommand } from './commands/serve.js';

const USAGE = `usage: stagewatch-collector <command> [flags]
  serve [--host 127.0.0.1] [--port 7711] [--data ./stagewatch-data] [--token T | --tokens-file F]
        [--tls-cert F --tls-key F] [--heartbeat-ms 10000] [--max-payload-mib 16]
  report <runId> [--vs <runId>] [--format md|json|html] [--data DIR] [--thresholds FILE] [--out FILE]`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { serve: serveCommand, report: reportCommand };

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return cmd === undefined ? 2 : 0;
  }
  const run = COMMANDS[cmd];
  if (!run) {
    process.stderr.write(`stagewatch-collector: unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    const usage = isStagewatchError(e, 'usage') || isStagewatchError(e, 'not-found');
    process.stderr.write(`stagewatch-collector ${cmd}: ${errorMessage(e)}\n`);
    return usage ? 2 : 1;
  }
}
