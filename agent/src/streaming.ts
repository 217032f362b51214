import { loadFingerprintFile, readFingerprint } from './fingerprint/index.js';
import { resolveNvidiaSmi } from './probe.js';
import { AgentPipeline, type HelloParts, type PipelineOptions } from './pipeline/pipeline.js';
import { startSampling, type GpuBackend, type GpuLibraries } from './sampling.js';

export interface StreamingOptions extends PipelineOptions {
  intervalMs: number;
  pid?: number;
  gpuBackend?: GpuBackend;
  /** Where the GPU libraries and nvidia-smi are (from the environment, through the config). */
  libraries: GpuLibraries;
  /** A fingerprint saved earlier (`probe --fingerprint`), announced instead of reading this host's. */
  fingerprintFile?: string;
  dcgm?: boolean;
}

/** Sampling wired to the collector: samples → batches → spool → WebSocket, behind one facade. */
export async function startStreaming(opts: StreamingOptions): Promise<AgentPipeline> {
  // A bad file is a usage error, said before anything starts.
  const saved = opts.fingerprintFile !== undefined ? loadFingerprintFile(opts.fingerprintFile) : undefined;
  const pipeline = AgentPipeline.open(opts);
  const sampling = await startSampling({
    intervalMs: opts.intervalMs,
    libraries: opts.libraries,
    ...(opts.gpuBackend ? { gpuBackend: opts.gpuBackend } : {}),
    ...(opts.dcgm === false ? { dcgm: false } : {}),
    host: opts.host,
    ...(opts.pid !== undefined ? { pid: opts.pid } : {}),
    log: opts.log,
    onSample: (s) => pipeline.sample(s),
    onHealth: (h) => pipeline.health(h),
  });
  pipeline.attach(sampling);
  const probe = sampling.probe;
  const gpus = probe.gpus.map((g) => ({ index: g.index, uuid: g.uuid, name: g.name, memTotalMib: g.memTotalMib }));
  const capabilities = { gpm: probe.gpm, fields: probe.fields.supported, ...(probe.smActivity ? { smActivity: probe.smActivity } : {}) };
  // The fingerprint takes a few hundred ms of subprocesses: samples spool meanwhile, and the hello
  // that carries it goes out when it is read, so the workload does not wait for it.
  const fingerprint = saved
    ? Promise.resolve(saved)
    : resolveNvidiaSmi(opts.libraries).then((smiPath) => readFingerprint({ smiPath, gpus, driverVersion: probe.nvml?.driverVersion ?? null })).catch((e: unknown) => {
        opts.log(`host fingerprint not read: ${(e as Error).message}`);
        return undefined;
      });
  pipeline.connect(fingerprint.then((fp): HelloParts => ({ gpus, capabilities, ...(fp ? { fingerprint: fp } : {}) })));
  return pipeline;
}
