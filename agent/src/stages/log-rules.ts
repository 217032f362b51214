import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { StageNameSchema, StagewatchError, type Mark } from '@stagewatch/shared';
import wan from './presets/wan.json' with { type: 'json' };

const RuleSchema = z.union([
  z.strictObject({ pattern: z.string().min(1), stage: StageNameSchema }),
  z.strictObject({ pattern: z.string().min(1), step: StageNameSchema, within: StageNameSchema }),
  z.strictObject({ pattern: z.string().min(1), end: z.literal(true) }),
]);

/** A preset: log patterns → stage marks, so a workload needs no change to be staged. */
export const PresetSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  rules: z.array(RuleSchema).min(1),
});
export type Preset = z.infer<typeof PresetSchema>;

/** Built-in presets: data files under ./presets, imported so a bundled agent carries them. */
export const BUILTIN_PRESETS: Record<string, unknown> = { wan };

export function loadPreset(nameOrFile: string, isFile: boolean): Preset {
  let raw: unknown;
  if (isFile) {
    try {
      raw = JSON.parse(readFileSync(nameOrFile, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new StagewatchError('usage', `--stages ${nameOrFile}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  } else {
    raw = BUILTIN_PRESETS[nameOrFile];
    if (raw === undefined) throw new StagewatchError('usage', `--preset ${nameOrFile}: no such preset (built in: ${Object.keys(BUILTIN_PRESETS).join(', ')})`);
  }
  const parsed = PresetSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new StagewatchError('usage', `${nameOrFile}: ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  for (const [i, r] of parsed.data.rules.entries()) {
    try {
      new RegExp(r.pattern);
    } catch (e) {
      throw new StagewatchError('usage', `${nameOrFile}: rules.${i}.pattern: ${(e as Error).message}`);
    }
  }
  return parsed.data;
}

/**
 * Turns log lines into marks. Logged stages are sequential: a new stage ends the one before.
 * A progress line `k/N` ends step k-1 and begins step k; step 0 begins with its stage.
 */
export class LogStageTracker {
  private readonly rules: Array<{ re: RegExp; rule: z.infer<typeof RuleSchema> }>;
  private current: string | null = null;
  private openStep: { stage: string; step: number } | null = null;
  private readonly stepRuleFor = new Map<string, string>();

  constructor(preset: Preset) {
    this.rules = preset.rules.map((rule) => ({ re: new RegExp(rule.pattern), rule }));
    for (const { rule } of this.rules) if ('step' in rule) this.stepRuleFor.set(rule.within, rule.step);
  }

  /** Marks for one line seen at time t (most lines give none). */
  line(text: string, t: number): Mark[] {
    for (const { re, rule } of this.rules) {
      const m = re.exec(text);
      if (!m) continue;
      if ('stage' in rule) return this.enter(rule.stage, t);
      if ('end' in rule) return this.finish(t);
      const k = Number(m.groups?.step);
      const total = Number(m.groups?.total);
      if (!Number.isInteger(k)) return [];
      const out = this.current === rule.within ? [] : this.enter(rule.within, t);
      // tqdm redraws the same count; only a count past the open step moves on.
      if (this.openStep && k - 1 === this.openStep.step) {
        out.push(this.mark('end', rule.step, t, this.openStep.step));
        this.openStep = null;
        if (!(k >= total)) {
          out.push(this.mark('begin', rule.step, t, k));
          this.openStep = { stage: rule.step, step: k };
        }
      }
      return out;
    }
    return [];
  }

  /** Ends whatever is open (the workload exited). */
  finish(t: number): Mark[] {
    const out: Mark[] = [];
    if (this.openStep) out.push(this.mark('end', this.openStep.stage, t, this.openStep.step));
    if (this.current) out.push(this.mark('end', this.current, t));
    this.openStep = null;
    this.current = null;
    return out;
  }

  private enter(stage: string, t: number): Mark[] {
    if (this.current === stage) return [];
    const out = this.finish(t);
    out.push(this.mark('begin', stage, t));
    this.current = stage;
    const step = this.stepRuleFor.get(stage);
    if (step) {
      out.push(this.mark('begin', step, t, 0));
      this.openStep = { stage: step, step: 0 };
    }
    return out;
  }

  private mark(kind: 'begin' | 'end', stage: string, t: number, step?: number): Mark {
    return { t, kind, stage, source: 'log', ...(step !== undefined ? { step } : {}) };
  }
}

/**
 * Splits a byte stream into lines on \n, \r\n and a lone \r, since tqdm redraws its bar with \r.
 * The bytes themselves are passed through untouched elsewhere.
 */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split(/\r\n|\r|\n/);
    this.rest = parts.pop() ?? '';
    return parts;
  }
}
