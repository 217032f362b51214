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
