import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { z } from 'zod';
import { UsageError } from './errors.js';

/** What a command's flags look like, as node:util parseArgs declares them. */
export type FlagTypes = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** A flag's value from a config file: repeatable flags (`label`) come as a list. */
export type ConfigValue = string | boolean | string[];

/**
 * A config file's keys are the command's long flag names (`collector`, `interval-ms`, ...), so
 * what a flag means is said once. Numbers may be written as numbers; they are checked by the
 * same rules as the flag. Unknown keys are refused by name, so a typo is never silently ignored.
 */
export function configSchema(flags: FlagTypes) {
  const shape: Record<string, z.ZodType<ConfigValue>> = {};
  const text = z.union([z.string(), z.number().finite()], { error: 'expected text or a number' }).transform(String);
  for (const [name, { type, multiple }] of Object.entries(flags)) {
    if (name === 'config' || name === 'help' || name === 'version') continue;
    // A repeatable flag takes a list (label: [config=a, model=t2v]) or one value, as on the command line.
    const value = type === 'boolean' ? z.boolean({ error: 'expected true or false' }) : multiple ? z.union([z.array(text), text.transform((v) => [v])]) : text;
    shape[name] = value.optional() as z.ZodType<ConfigValue>;
  }
  return z.strictObject(shape);
}

/** The config file as flag values; a UsageError names the file, the key and the problem. */
export function readConfigFile(file: string, flags: FlagTypes): Record<string, ConfigValue> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    // YAML 1.2 reads JSON too, so one parser serves .json, .yaml and .yml.
    raw = yaml.load(text, { filename: file });
  } catch (e) {
    throw new UsageError(`--config ${file}: not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (raw === undefined || raw === null) return {};
  const parsed = configSchema(flags).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    const known = Object.keys(flags).filter((k) => !['config', 'help', 'version'].includes(k)).sort().join(', ');
    const what =
      issue?.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (known: ${known})`
        : `${where}: ${issue?.message ?? 'does not match'}`;
    throw new UsageError(`--config ${file}: ${what}`);
  }
  return parsed.data as Record<string, ConfigValue>;
}
