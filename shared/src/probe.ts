import { z } from 'zod';

/** `stagewatch-agent probe --json`: the contract other tools read. */
export const ProbeResultSchema = z.object({
  nvidiaSmi: z.object({
    path: z.string().nullable(),
    version: z.string().nullable(),
    error: z.string().nullable(),
  }),
  gpus: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      uuid: z.string(),
      name: z.string(),
      memTotalMib: z.number().nullable(),
      migMode: z.string().nullable(),
    }),
  ),
  gpm: z.boolean(),
  /** The GPM metric ids dmon accepted. */
  gpmIds: z.array(z.number().int()),
  gpmError: z.string().nullable(),
  fields: z.object({ supported: z.array(z.string()), unsupported: z.array(z.string()) }),
  host: z.object({ hostname: z.string(), cpus: z.number().int().positive(), memTotalMib: z.number() }),
  /** NVML loaded directly (the fast path): its driver version, or why it could not load. */
  nvml: z.object({ loaded: z.boolean(), driverVersion: z.string().nullable(), error: z.string().nullable() }).optional(),
  /** What GPU sampling uses on this host: NVML directly, nvidia-smi, or nothing (host only). */
  backend: z.enum(['nvml', 'nvidia-smi', 'none']).optional(),
  /**
   * Per GPU, through NVML: GPM, utilization with NVML's sample times, link capacity (null where
   * unknown), and where PCIe/NVLink rates come from (GPM; DCGM profiling where it samples a GPU
   * without GPM; NVML byte counters; NVML PCIe throughput).
   */
  gpuCaps: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        gpm: z.boolean(),
        utilSamples: z.boolean(),
        nvlinkActiveLinks: z.number().int().nonnegative().nullable(),
        nvlinkCapacityMibps: z.number().nullable(),
        pcieCapacityMibps: z.number().nullable(),
        linkRates: z.enum(['gpm', 'dcgm', 'nvml-counters', 'nvml-throughput', 'none']),
      }),
    )
    .optional(),
  /** Per-process sampling: busiest-thread source, and whether NVML maps processes to GPUs here. */
  perProcess: z
    .object({
      threads: z.enum(['schedstat', 'stat']),
      gpu: z.boolean(),
      /** Processes NVML lists on all GPUs now, and why it cannot list them where it cannot. */
      gpuProcessesListed: z.number().int().nonnegative(),
      gpuError: z.string().nullable(),
    })
    .optional(),
  /** Where SM activity comes from: GPM (Hopper and newer), DCGM profiling (where GPM is not), or nowhere. */
  smActivity: z.enum(['gpm', 'dcgm', 'none']).optional(),
  /** DCGM, tried where a GPU has no GPM: whether it gives profiling metrics, through what, for which GPUs, or why not. */
  dcgm: z
    .object({ active: z.boolean(), mode: z.enum(['hostengine', 'embedded']).nullable(), lib: z.string().nullable(), gpus: z.array(z.number().int()), error: z.string().nullable() })
    .optional(),
});
export type ProbeResult = z.infer<typeof ProbeResultSchema>;
