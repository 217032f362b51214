import { z } from 'zod';

export const SAMPLE_SOURCES = ['gpu', 'host', 'proc'] as const;
export const SampleSourceSchema = z.enum(SAMPLE_SOURCES);
export type SampleSource = z.infer<typeof SampleSourceSchema>;

/** One sample line: `{"t":<epoch ms>,"host":"..","source":..,"gpu":<index, gpu only>,"m":{...}}`. */
export const SampleSchema = z
  .object({
    t: z.number().int().nonnegative(),
    host: z.string().min(1).max(255),
    source: SampleSourceSchema,
    gpu: z.number().int().nonnegative().optional(),
    m: z.record(z.string().min(1).max(64), z.number().finite()),
  })
  .strict()
  .refine((s) => (s.source === 'gpu') === (s.gpu !== undefined), {
    message: 'gpu index is required on gpu samples and forbidden on others',
    path: ['gpu'],
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
