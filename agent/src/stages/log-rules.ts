import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { StageNameSchema, UsageError } from '@stagewatch/shared';
import wan from './presets/wan.json' with { type: 'json' };

export { LogStageTracker } from './tracker.js';

/** A stage the log never names, worked out from the lines around it; `note` says how (shown in reports). */
const InferredSchema = z.strictObject({ stage: StageNameSchema, note: z.string().min(1).max(200) });

const RuleSchema = z.union([
  // `before`: the line begins that (inferred) stage, and `stage` begins at the first progress update.
  z.strictObject({ pattern: z.string().min(1), stage: StageNameSchema, before: InferredSchema.optional() }),
  // `after`: when the bar completes, `within` ends and that (inferred) stage begins.
  z.strictObject({ pattern: z.string().min(1), step: StageNameSchema, within: StageNameSchema, after: InferredSchema.optional() }),
  z.strictObject({ pattern: z.string().min(1), end: z.literal(true) }),
]);

/** A preset: log patterns → stage marks, so a workload needs no change to be staged. */
export const PresetSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  rules: z.array(RuleSchema).min(1),
});
export type Preset = z.infer<typeof PresetSchema>;
export type Rule = z.infer<typeof RuleSchema>;

/** Built-in presets: data files under ./presets, imported so a bundled agent carries them. */
export const BUILTIN_PRESETS: Record<string, unknown> = { wan };

export function loadPreset(nameOrFile: string, isFile: boolean): Preset {
  let raw: unknown;
  if (isFile) {
    try {
      raw = JSON.parse(readFileSync(nameOrFile, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`--stages ${nameOrFile}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  } else {
    raw = BUILTIN_PRESETS[nameOrFile];
    if (raw === undefined) throw new UsageError(`--preset ${nameOrFile}: no such preset (built in: ${Object.keys(BUILTIN_PRESETS).join(', ')})`);
  }
  const parsed = PresetSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(`${nameOrFile}: ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  for (const [i, r] of parsed.data.rules.entries()) {
    try {
      new RegExp(r.pattern);
    } catch (e) {
      throw new UsageError(`${nameOrFile}: rules.${i}.pattern: ${(e as Error).message}`);
    }
  }
  return parsed.data;
}

/**
 * Splits a byte stream into lines on \n, \r\n and a lone \r, since tqdm redraws its bar with \r.
 * tqdm writes `\r<bar>` and flushes: the bar is complete when it arrives but its terminator comes
 * only with the next redraw, so `tail()` hands out the unterminated rest for the caller to read
 * now (and it comes again, complete, from a later push). The bytes themselves are passed through
 * untouched elsewhere.
 */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split(/\r\n|\r|\n/);
    this.rest = parts.pop() ?? '';
    return parts;
  }
  /** What arrived after the last line end: a progress bar drawn with a leading \r, or half a line. */
  tail(): string {
    return this.rest;
  }
}
