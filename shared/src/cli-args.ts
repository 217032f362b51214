import { parseArgs, type ParseArgsConfig } from 'node:util';
import { StagewatchError } from './errors.js';

/** A command-line mistake: printed as one line naming the flag, exit status 2. */
export class UsageError extends StagewatchError {
  constructor(message: string) {
    super('usage', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags(
  argv: string[],
  options: Options,
  allowPositionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    // node's messages are long and multi-line; keep the part that names the flag.
    const msg = e instanceof Error ? e.message.split('\n')[0]?.replace(/\. To specify.*$/, '') ?? 'bad flags' : 'bad flags';
    throw new UsageError(msg);
  }
}

export function intFlag(values: Record<string, unknown>, flag: string, min: number, max: number, dflt?: number): number {
  const raw = values[flag];
  if (raw === undefined) {
    if (dflt === undefined) throw new UsageError(`--${flag} is required`);
    return dflt;
  }
  const n = typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

export function numberFlag(values: Record<string, unknown>, flag: string, min: number, max: number, dflt?: number): number {
  const raw = values[flag];
  if (raw === undefined) {
    if (dflt === undefined) throw new UsageError(`--${flag} is required`);
    return dflt;
  }
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

export type Command = (argv: string[]) => Promise<number>;

/**
 * Dispatches `tool <command> [flags]`: usage on no command, exit 2 with one line for a usage
 * mistake (or something asked for that does not exist), exit 1 for any other failure.
 */
export async function runCli(tool: string, usage: string, commands: Record<string, Command>, argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${usage}\n`);
    return cmd === undefined ? 2 : 0;
  }
  const run = commands[cmd];
  if (!run) {
    process.stderr.write(`${tool}: unknown command ${JSON.stringify(cmd)}\n${usage}\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    process.stderr.write(`${tool} ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof StagewatchError && (e.code === 'usage' || e.code === 'not-found') ? 2 : 1;
  }
}
