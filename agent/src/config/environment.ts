import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { NVML_LIB } from '../nvml/bindings.js';
import { dcgmLibraryNames } from '../dcgm/bindings.js';
import type { GpuLibraries } from '../probe.js';

export type { Environment } from '@stagewatch/shared';
import type { Environment } from '@stagewatch/shared';

/** Empty means unset, as a shell's `VAR= cmd` does. */
const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

/** Every environment variable the agent reads; nothing below the config reads the environment. */
const AgentEnvSchema = z.object({
  STAGEWATCH_TOKEN: optional,
  STAGEWATCH_NVIDIA_SMI: optional,
  STAGEWATCH_NVML_LIB: optional,
  STAGEWATCH_DCGM_LIB: optional,
  PATH: optional,
  XDG_STATE_HOME: optional,
});

export interface AgentEnv {
  /** The collector's token when no --token is given. */
  token?: string;
  libraries: GpuLibraries;
  /** The default spool directory: $XDG_STATE_HOME/stagewatch/spool, or ~/.local/state/... */
  spoolDir: string;
}

export function agentEnv(env: Environment): AgentEnv {
  const e = AgentEnvSchema.parse(env);
  return {
    ...(e.STAGEWATCH_TOKEN ? { token: e.STAGEWATCH_TOKEN } : {}),
    libraries: {
      ...(e.STAGEWATCH_NVIDIA_SMI ? { nvidiaSmi: e.STAGEWATCH_NVIDIA_SMI } : {}),
      searchPath: e.PATH ?? '',
      nvmlLib: e.STAGEWATCH_NVML_LIB ?? NVML_LIB,
      dcgmLibs: dcgmLibraryNames(e.STAGEWATCH_DCGM_LIB),
    },
    spoolDir: path.join(e.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'stagewatch', 'spool'),
  };
}
