import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readConfigFile, type FlagTypes } from './config-file.js';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { choiceFlagSchema, intFlagSchema, numberFlagSchema, parseFlagValues } from './flag-schema.js';
import { LOG_FORMATS, LOG_LEVELS, makeLogger, type LogFormat, type Logger, type LogLevel } from './log.js';
import { VERSION } from './version.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every long-running command takes: a config file, and how to log. */
export const COMMON_FLAGS = {
  config: { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

export const COMMON_USAGE = '[--config FILE] [--log-format text|json] [--log-level debug|info|warn|error]';

/**
 * Parses flags strictly. Where the command takes `--config FILE`, the file's values come first
 * and flags given on the command line override them.
 */
export function parseFlags(
  argv: string[],
  options: Options,
  allowPositionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    parsed = { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    // node's messages are long and multi-line; keep the part that names the flag.
    const msg = e instanceof Error ? e.message.split('\n')[0]?.replace(/\. To specify.*$/, '') ?? 'bad flags' : 'bad flags';
    throw new UsageError(msg);
  }
  const file = parsed.values.config;
  if ('config' in options && typeof file === 'string') {
    // Repeatable flags are lists here as parseArgs gives them; the command that declares one reads it so.
    parsed.values = { ...(readConfigFile(file, options as FlagTypes) as Record<string, string | boolean>), ...parsed.values };
  }
  return parsed;
}

export function choiceFlag<T extends string>(values: Record<string, unknown>, flag: string, choices: readonly T[], dflt: T): T {
  return oneFlag(values, flag, choiceFlagSchema(flag, choices), dflt);
}

/** The logger `--log-format` and `--log-level` ask for. */
export function loggerFromFlags(tool: string, values: Record<string, unknown>, timestamps = true): Logger {
  const format = choiceFlag<LogFormat>(values, 'log-format', LOG_FORMATS, 'text');
  const level = choiceFlag<LogLevel>(values, 'log-level', LOG_LEVELS, 'info');
  return makeLogger(tool, { format, level, timestamps });
}

/** One flag, checked as its config module would: `--flag is required` when absent without a default. */
function oneFlag<T>(values: Record<string, unknown>, flag: string, schema: z.ZodType<T, string>, dflt: T | undefined): T {
  if (values[flag] === undefined) {
    if (dflt === undefined) throw new UsageError(`--${flag} is required`);
    return dflt;
  }
  return parseFlagValues(z.object({ [flag]: schema }), { [flag]: String(values[flag]) })[flag] as T;
}

export function intFlag(values: Record<string, unknown>, flag: string, min: number, max: number, dflt?: number): number {
  return oneFlag(values, flag, intFlagSchema(flag, min, max), dflt);
}

export function numberFlag(values: Record<string, unknown>, flag: string, min: number, max: number, dflt?: number): number {
  return oneFlag(values, flag, numberFlagSchema(flag, min, max), dflt);
}

/** The environment as the CLI entry hands it to a command; only config modules read it. */
export type Environment = Readonly<Record<string, string | undefined>>;

export type Command = (argv: string[], env: Environment) => Promise<number>;
/** A command with its own usage text, printed by `tool CMD --help`. */
export interface CommandSpec {
  run: Command;
  usage: string;
}

const HELP = ['--help', '-h'];
const VERSIONS = ['--version', '-V'];

/** What `--version` prints. */
export const versionLine = (tool: string): string => `${tool} ${VERSION}`;

/**
 * Dispatches `tool <command> [flags]`: usage on no command, `--help` and `--version` anywhere
 * before a `--` (what follows `--` belongs to the workload), exit 2 with one line for a usage or
 * configuration mistake (or something asked for that does not exist), exit 1 for any other failure.
 */
export async function runCli(tool: string, usage: string, commands: Record<string, Command | CommandSpec>, argv: string[], env: Environment): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || HELP.includes(cmd) || cmd === 'help') {
    const topic = cmd === 'help' && rest[0] !== undefined ? commands[rest[0]] : undefined;
    process.stdout.write(`${topic && typeof topic !== 'function' ? topic.usage : usage}\n`);
    return cmd === undefined ? 2 : 0;
  }
  if (VERSIONS.includes(cmd) || cmd === 'version') {
    process.stdout.write(`${versionLine(tool)}\n`);
    return 0;
  }
  const spec = commands[cmd];
  if (!spec) {
    process.stderr.write(`${tool}: unknown command ${JSON.stringify(cmd)}\n${usage}\n`);
    return 2;
  }
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.some((a) => HELP.includes(a))) {
    process.stdout.write(`${typeof spec === 'function' ? usage : spec.usage}\n`);
    return 0;
  }
  if (own.some((a) => VERSIONS.includes(a))) {
    process.stdout.write(`${versionLine(tool)}\n`);
    return 0;
  }
  try {
    return await (typeof spec === 'function' ? spec : spec.run)(rest, env);
  } catch (e) {
    process.stderr.write(`${tool} ${cmd}: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof UsageError ? UsageError.exitCode : 1;
  }
}
