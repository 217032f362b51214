import { z } from 'zod';
import { HostFingerprintSchema, WorkloadRuntimeSchema } from './fingerprint.js';
import { MarkSchema } from './marks.js';
import { sampleIssues, SampleShapeSchema, SamplerHealthSchema } from './sample.js';

/**
 * The agent ↔ collector wire protocol (WebSocket, path `/agent`, JSON text frames). Every frame
 * crossing the wire is validated against these schemas on arrival.
 */
export const PROTOCOL_VERSION = 1;
export const AGENT_PATH = '/agent';

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'letters, digits and ._:@- only');

/**
 * A random secret born with an agent's id in its spool, sent in this header on every connection.
 * The collector binds an agent id to the first key it sees (kept as a SHA-256 digest) and refuses
 * a hello for that id with another key, so a client holding the token cannot write into, or
 * take over the sequence space of, another agent. A header, not a hello field, so collectors
 * and agents of either age still talk.
 */
export const AGENT_KEY_HEADER = 'x-stagewatch-agent-key';
export const AgentKeySchema = z.string().regex(/^[0-9a-f]{32,128}$/, '32 to 128 lowercase hex digits');

/** Sample, mark and health times more than this far ahead of the collector's clock are refused. */
export const MAX_FUTURE_MS = 24 * 3600_000;

/** Run labels (`config=fsdp_ffn_only`): runs with the same labels are repeats of one configuration. */
export const RunLabelsSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'label keys are 1-64 letters, digits and _.-'), z.string().min(1).max(128).regex(/^[^\u0000-\u001f]+$/, 'label values are printable'))
  .refine((r) => Object.keys(r).length <= 32, 'at most 32 labels');
export type RunLabels = z.infer<typeof RunLabelsSchema>;

export const GpuInfoSchema = z.object({
  index: z.number().int().nonnegative(),
  uuid: z.string().max(128),
  name: z.string().max(256),
  memTotalMib: z.number().nullable(),
});

export const HelloSchema = z
  .object({
    type: z.literal('hello'),
    protocol: z.number().int().positive(),
    agentId: id,
    host: z.string().min(1).max(255),
    /** A benchmark run this agent belongs to; null streams into the host's rolling timeline. */
    runId: id.nullable(),
    gpus: z.array(GpuInfoSchema).max(64),
    capabilities: z.object({
      gpm: z.boolean(),
      fields: z.array(z.string().max(128)).max(256),
      /** Where sm_active_pct comes from on this host (absent from older agents). */
      smActivity: z.enum(['gpm', 'dcgm', 'none']).optional(),
    }),
    agentVersion: z.string().max(64),
    /** `run --label key=value`: what configuration this run is; stored on the run. Optional, so
     * agents from before labels still say hello. */
    labels: RunLabelsSchema.optional(),
    /** The host's hardware and software, read once at start (absent from older agents). */
    fingerprint: HostFingerprintSchema.optional(),
  })
  .strict();

export const ClockEstimateSchema = z.object({
  /** Agent clock minus collector clock, ms: subtract it from agent times. */
  offsetMs: z.number().finite(),
  /** Half the round trip of the best ping: the offset is right to within this. */
  errorMs: z.number().finite().nonnegative(),
});

export const LossSchema = z.object({
  /** Batches the spool dropped (oldest first) because it was full, since the agent started. */
  batches: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
  /** Spool entries that failed their checksum or could not be read: moved to quarantine, not sent. */
  corrupt: z.number().int().nonnegative().default(0),
  /** Spool entries the collector refused as invalid (closed with 1007, 1008 or 1009): quarantined. */
  rejected: z.number().int().nonnegative().default(0),
  /** Samples in the corrupt and rejected entries, as their file names say. */
  quarantinedSamples: z.number().int().nonnegative().default(0),
});

/** A batch's fields but its samples: what a JSON batch and a columnar frame's header share. */
const BatchFields = {
  type: z.literal('batch'),
  seq: z.number().int().positive(),
  /** The run these samples belong to (null: the host's timeline). Spooled with the batch, so
   * batches left over from an earlier run still land in that run. */
  runId: id.nullable(),
  health: z.array(SamplerHealthSchema).max(1000).default([]),
  marks: z.array(MarkSchema).max(100_000).default([]),
  clock: ClockEstimateSchema.nullable(),
  loss: LossSchema,
  /** The workload of this run exited: the run ends here. Spooled like the data, so it is not lost. */
  runEnd: z
    .strictObject({
      t: z.number().int().nonnegative(),
      exitCode: z.number().int().nullable(),
      /** The signal that interrupted the workload (it died of it, or the agent forwarded it). */
      signal: z.string().regex(/^SIG[A-Z0-9]+$/).max(16).optional(),
    })
    .optional(),
  /** What the workload's Python said about itself (versions, torch threads), once, when it said it. */
  workload: WorkloadRuntimeSchema.optional(),
};

const { type, seq, runId, ...afterSamples } = BatchFields;
export const BatchSchema = z
  .object({ type, seq, runId, samples: z.array(SampleShapeSchema).max(100_000), ...afterSamples })
  .strict()
  // One refinement per batch, not per sample: see sampleIssues.
  .superRefine((b, ctx) => {
    b.samples.forEach((s, i) => {
      for (const issue of sampleIssues(s)) ctx.addIssue({ code: 'custom', path: ['samples', i, ...issue.path], message: issue.message });
    });
  });

/**
 * The JSON header of a columnar batch frame (batch-frame.ts): the batch without its samples, and
 * the metric names its blocks refer to by index (as in JSON samples: 1 to 64 characters).
 */
export const BatchHeaderSchema = z.object({ ...BatchFields, names: z.array(z.string().min(1).max(64)).max(4096) }).strict();

export const PingSchema = z.object({ type: z.literal('ping'), id: z.number().int(), t0: z.number() }).strict();

export const AgentMessageSchema = z.discriminatedUnion('type', [HelloSchema, BatchSchema, PingSchema]);
export const AGENT_MESSAGE_TYPES = ['hello', 'batch', 'ping'] as const;

export const WelcomeSchema = z
  .object({
    type: z.literal('welcome'),
    protocol: z.number().int(),
    runId: z.string().nullable(),
    /** Every seq up to this one is stored: the agent may drop them from its spool. */
    storedThrough: z.number().int().nonnegative(),
  })
  .strict();

export const AckSchema = z.object({ type: z.literal('ack'), seqs: z.array(z.number().int().positive()) }).strict();

export const PongSchema = z
  .object({ type: z.literal('pong'), id: z.number().int(), t0: z.number(), t1: z.number(), t2: z.number() })
  .strict();

export const CollectorMessageSchema = z.discriminatedUnion('type', [WelcomeSchema, AckSchema, PongSchema]);

export type GpuInfo = z.infer<typeof GpuInfoSchema>;
export type Hello = z.infer<typeof HelloSchema>;
export type Batch = z.infer<typeof BatchSchema>;
export type BatchInput = z.input<typeof BatchSchema>;
export type BatchHeader = z.infer<typeof BatchHeaderSchema>;
export type ClockEstimate = z.infer<typeof ClockEstimateSchema>;
export type Loss = z.infer<typeof LossSchema>;
export type AgentMessage = z.infer<typeof AgentMessageSchema>;
export type CollectorMessage = z.infer<typeof CollectorMessageSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type Pong = z.infer<typeof PongSchema>;

/** WebSocket close codes the collector uses, with the reason sent alongside. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  invalidPayload: 1007,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
} as const;

/**
 * NTP-style clock offset from one ping: t0 agent send, t1 collector receive, t2 collector send,
 * t3 agent receive. Returns the agent-minus-collector offset and its error bound (half the RTT).
 */
export function clockFromPing(t0: number, t1: number, t2: number, t3: number): ClockEstimate {
  const rtt = Math.max(0, t3 - t0 - (t2 - t1));
  return { offsetMs: (t0 - t1 + (t3 - t2)) / 2, errorMs: rtt / 2 };
}
