import { z } from 'zod';

const str = z.string().max(256);
const num = z.number().finite();

/**
 * What a host is, read once when the agent starts (never per sample): the facts that explain why
 * the same stage takes longer on one host than another. Every field is null where the host does
 * not show it (containers and VMs hide DMI, disks and clocks).
 */
export const HostFingerprintSchema = z.strictObject({
  /** Epoch ms when it was read. */
  readAt: num,
  cpu: z.strictObject({
    model: str.nullable(),
    sockets: z.number().int().nonnegative().nullable(),
    /** Physical cores, all sockets. */
    cores: z.number().int().nonnegative().nullable(),
    /** Logical CPUs (hardware threads). */
    threads: z.number().int().nonnegative().nullable(),
    baseGhz: num.nullable(),
    maxGhz: num.nullable(),
  }),
  memory: z.strictObject({
    totalMib: num.nullable(),
    /** DIMM speed in MT/s where DMI shows it. */
    speedMts: num.nullable(),
    type: str.nullable(),
  }),
  disks: z.array(z.strictObject({ name: str, model: str.nullable(), type: str.nullable(), sizeGib: num.nullable() })).max(64),
  numaNodes: z.number().int().nonnegative().nullable(),
  os: z.strictObject({ distro: str.nullable(), kernel: str.nullable() }),
  /** True inside a container or VM, where some of the above is the guest's view. */
  virtual: z.boolean().nullable(),
  driverVersion: str.nullable(),
  cudaVersion: str.nullable(),
  gpus: z
    .array(
      z.strictObject({
        index: z.number().int().nonnegative(),
        name: str,
        busId: str.nullable(),
        /** The link the GPU and its slot can run at; `current` may be lower at idle (power saving). */
        pcieGenMax: z.number().int().nonnegative().nullable(),
        pcieWidthMax: z.number().int().nonnegative().nullable(),
        pcieGenCurrent: z.number().int().nonnegative().nullable(),
        pcieWidthCurrent: z.number().int().nonnegative().nullable(),
      }),
    )
    .max(64),
  /** Why a part is missing (a tool absent, a timeout), so a null is explained. */
  notes: z.array(z.string().max(300)).max(16),
});
export type HostFingerprint = z.infer<typeof HostFingerprintSchema>;

/**
 * What the workload's Python reports about itself (the Python client posts it to
 * `STAGEWATCH_FINGERPRINT_URL`, a JSON object): versions and torch's thread count.
 */
export const WorkloadRuntimeSchema = z.strictObject({
  python: z.string().min(1).max(64).optional(),
  torch: z.string().min(1).max(64).optional(),
  /** torch.version.cuda: the CUDA runtime torch was built with. */
  cuda_runtime: z.string().min(1).max(64).optional(),
  /** torch.get_num_threads(): intra-op CPU threads (what a CPU-side T5 runs on). */
  torch_threads: z.number().int().positive().max(100_000).optional(),
  /** The process that posted it (torchrun's RANK), when several do. */
  rank: z.number().int().nonnegative().optional(),
});
export type WorkloadRuntime = z.infer<typeof WorkloadRuntimeSchema>;
