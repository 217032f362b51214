import { z } from 'zod';

/** Stage names are shown in reports and the browser: printable, short, escaped where shown. */
export const StageNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:/ -]+$/, 'stage names use letters, digits, space and _.:/-');

export const GaugesSchema = z.record(z.string().min(1).max(64), z.number());

/**
 * What a workload POSTs to `STAGEWATCH_MARKS_URL`, one JSON object a line:
 * `{"kind":"begin"|"end","stage":"...","step"?:n,"rank"?:n,"gauges"?:{...},"t"?:epoch ms}`.
 * Without `t` the agent stamps the mark when it arrives.
 */
export const WorkloadMarkSchema = z.strictObject({
  kind: z.enum(['begin', 'end']),
  stage: StageNameSchema,
  step: z.number().int().nonnegative().optional(),
  rank: z.number().int().nonnegative().optional(),
  gauges: GaugesSchema.optional(),
  t: z.number().positive().optional(),
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
