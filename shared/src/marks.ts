import { z } from 'zod';

/** Stage names are shown in reports and the browser: printable, short, escaped where shown. */
export const StageNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:/ -]+$/, 'stage names use letters, digits, space and _.:/-');

export const GaugesSchema = z.record(z.string().min(1).max(64), z.number());

/** Where a span's times came from: CUDA events resolved to wall-clock, or the host clock. */
export const SpanTimingSchema = z.enum(['cuda', 'host']);
export type SpanTiming = z.infer<typeof SpanTimingSchema>;

/** A span's kind of work (`communication`, `compute`, ...): short, shown in reports. */
export const SpanCategorySchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9_.-]+$/, 'categories use letters, digits and _.-');

/**
 * What a workload POSTs to `STAGEWATCH_MARKS_URL`, one JSON object a line:
 * `{"kind":"begin"|"end","stage":"...","step"?:n,"rank"?:n,"gauges"?:{...},"t"?:epoch ms}`.
 * Without `t` the agent stamps the mark when it arrives.
 *
 * Spans (fine-grained, repeated inside steps) are marks that carry `timing`; they may carry a
 * `category`. `dropped` is the number of marks the workload's client has dropped so far (buffer
 * full or undeliverable), carried on the first mark of a later batch. All three are optional, so
 * marks written before they existed still validate.
 */
export const WorkloadMarkSchema = z.strictObject({
  kind: z.enum(['begin', 'end']),
  stage: StageNameSchema,
  step: z.number().int().nonnegative().optional(),
  rank: z.number().int().nonnegative().optional(),
  gauges: GaugesSchema.optional(),
  t: z.number().positive().optional(),
  timing: SpanTimingSchema.optional(),
  category: SpanCategorySchema.optional(),
  dropped: z.number().int().nonnegative().optional(),
});
export type WorkloadMark = z.infer<typeof WorkloadMarkSchema>;

/** A stage boundary as it travels agent → collector: `t` (epoch ms, agent clock) always set, and where it came from. */
export const MarkSchema = WorkloadMarkSchema.extend({
  t: z.number().nonnegative(),
  source: z.enum(['log', 'http', 'file']),
  /**
   * Set where no line or mark of the workload says this boundary, and the agent worked it out
   * (a stage between two log lines, steps a throttled progress bar drew at once): how, in words.
   */
  inferred: z.string().min(1).max(200).optional(),
});
export type Mark = z.infer<typeof MarkSchema>;

/**
 * The marks.jsonl form written by `shared/tools/gpu-capture/workload.py`: epoch ns and PyTorch's
 * memory figures in MiB (`reserved_mb` is torch.cuda.memory_reserved() / 2**20).
 */
export const CaptureMarkSchema = z.object({
  t_ns: z.number().positive(),
  kind: z.enum(['begin', 'end']),
  stage: StageNameSchema,
  step: z.number().int().nonnegative().optional(),
  rank: z.number().int().nonnegative().optional(),
  reserved_mb: z.number().optional(),
  allocated_mb: z.number().optional(),
  max_reserved_mb: z.number().optional(),
});
