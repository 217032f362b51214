import { z } from 'zod';

export const SAMPLE_SOURCES = ['gpu', 'host', 'proc'] as const;
export const SampleSourceSchema = z.enum(SAMPLE_SOURCES);
export type SampleSource = z.infer<typeof SampleSourceSchema>;

const SampleShape = z.strictObject({
  t: z.number().int().nonnegative(),
  host: z.string().min(1).max(255),
  source: SampleSourceSchema,
  gpu: z.number().int().nonnegative().optional(),
  /**
   * The interval the reading measured, in ms: it covers [t - dur_ms, t]. A GPM reading covers its
   * window, utilization NVML's sample period, host and process readings their sampling interval.
   * Absent on data from older agents: readers then assume the gap to the previous reading.
   */
  dur_ms: z.number().nonnegative().max(3_600_000).optional(),
  /** On `proc` samples of one workload process (not the tree total): its pid. */
  pid: z.number().int().positive().optional(),
  // zod 4 numbers are finite already; metric-name lengths are checked in sampleIssues.
  m: z.record(z.string(), z.number()),
});

/**
 * Rules across fields, checked in plain code: a zod refinement per sample costs as much as the
 * rest of the validation, and the collector validates up to 100,000 samples a second.
 */
export function sampleIssues(s: z.infer<typeof SampleShape>): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  if ((s.source === 'gpu') !== (s.gpu !== undefined)) {
    issues.push({ path: ['gpu'], message: 'gpu index is required on gpu samples and forbidden on others' });
  }
  if (s.pid !== undefined && s.source !== 'proc') issues.push({ path: ['pid'], message: 'pid is allowed on proc samples only' });
  for (const k in s.m) {
    if (k.length === 0 || k.length > 64) issues.push({ path: ['m', k], message: 'metric names are 1 to 64 characters' });
  }
  return issues;
}

/** The shape alone; use SampleSchema, or a schema that applies sampleIssues, to validate. */
export const SampleShapeSchema = SampleShape;

/** One sample line: `{"t":<epoch ms>,"host":"..","source":..,"gpu":<index, gpu only>,"dur_ms"?:n,"pid"?:n,"m":{...}}`. */
export const SampleSchema = SampleShape.superRefine((s, ctx) => {
  for (const i of sampleIssues(s)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
});
export type Sample = z.infer<typeof SampleSchema>;

export const SamplerStateSchema = z.enum(['starting', 'ok', 'degraded', 'down', 'stopped']);
export type SamplerState = z.infer<typeof SamplerStateSchema>;

/**
 * A sampler's health, printed beside the samples (`"source":"health"`), so a missing metric
 * always has a visible reason. `absent` counts values that came back as `[N/A]`, `-` etc.
 */
export const SamplerHealthSchema = z
  .object({
    t: z.number().int().nonnegative(),
    host: z.string().min(1),
    source: z.literal('health'),
    sampler: z.string().min(1),
    state: SamplerStateSchema,
    error: z.string().optional(),
    restarts: z.number().int().nonnegative(),
    lines: z.number().int().nonnegative(),
    badLines: z.number().int().nonnegative(),
    absent: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())),
  })
  .strict();
export type SamplerHealth = z.infer<typeof SamplerHealthSchema>;
