import { z } from 'zod';
import { UsageError } from './errors.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log.js';

/**
 * Zod schemas for flag values as the command line and config files give them (text), each
 * naming its flag and the value when it refuses one. A tool's config module builds its one config
 * object from these, so every check of a flag is said once.
 */

const refuse = (ctx: z.RefinementCtx, message: string): never => {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
};

export function intFlagSchema(flag: string, min: number, max: number) {
  return z.string().transform((raw, ctx) => {
    const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) return refuse(ctx, `--${flag} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    return n;
  });
}

export function numberFlagSchema(flag: string, min: number, max: number) {
  return z.string().transform((raw, ctx) => {
    const n = raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) return refuse(ctx, `--${flag} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    return n;
  });
}

export function choiceFlagSchema<T extends string>(flag: string, choices: readonly T[]) {
  return z.string().transform((raw, ctx): T => {
    if (!choices.includes(raw as T)) return refuse(ctx, `--${flag} must be one of ${choices.join(', ')} (got ${JSON.stringify(raw)})`);
    return raw as T;
  });
}

/** Text that must not be blank. */
export function textFlagSchema(flag: string) {
  return z.string().refine((v) => v.trim() !== '', { message: `--${flag} must not be empty` });
}

/** `--log-format` and `--log-level`, which every long-running command takes. */
export const logFlagsShape = {
  'log-format': choiceFlagSchema<LogFormat>('log-format', LOG_FORMATS).default('text'),
  'log-level': choiceFlagSchema<LogLevel>('log-level', LOG_LEVELS).default('info'),
};

/**
 * Parses flag values with `schema`; the first problem becomes a UsageError naming the flag
 * (schemas above name it themselves; any other issue is prefixed with the flag its path gives).
 */
export function parseFlagValues<S extends z.ZodType>(schema: S, values: Record<string, unknown>): z.output<S> {
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (!issue) throw new UsageError('bad flags');
  const flag = issue.path.map(String).join('.');
  throw new UsageError(issue.code === 'custom' || !flag ? issue.message : `--${flag}: ${issue.message}`);
}
