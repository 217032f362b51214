import { COMMON_FLAGS } from '@stagewatch/shared';

/**
 * Every flag of every agent command, declared once. The streaming flags are shared by daemon,
 * run and marks, so one config file serves all three.
 */
export const STREAM_FLAGS = {
  ...COMMON_FLAGS,
  collector: { type: 'string' },
  token: { type: 'string' },
  'run-id': { type: 'string' },
  host: { type: 'string' },
  'interval-ms': { type: 'string' },
  'batch-ms': { type: 'string' },
  frames: { type: 'string' },
  'spool-dir': { type: 'string' },
  'spool-max-mib': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'backoff-max-ms': { type: 'string' },
  'drain-s': { type: 'string' },
  tee: { type: 'string' },
  out: { type: 'string' },
  'gpu-backend': { type: 'string' },
  'fingerprint-file': { type: 'string' },
  'no-dcgm': { type: 'boolean' },
} as const;

export const DAEMON_FLAGS = { ...STREAM_FLAGS, pid: { type: 'string' } } as const;

/** The streaming flags, where stages come from, and the run's labels. */
export const RUN_FLAGS = {
  ...STREAM_FLAGS,
  preset: { type: 'string' },
  stages: { type: 'string' },
  marks: { type: 'string' },
  label: { type: 'string', multiple: true },
} as const;

/** The streaming flags (so one config file serves daemon, run and marks) and the shift. */
export const MARKS_FLAGS = { ...STREAM_FLAGS, 'shift-ms': { type: 'string' } } as const;

export const SAMPLE_FLAGS = {
  ...COMMON_FLAGS,
  'interval-ms': { type: 'string' },
  'duration-s': { type: 'string' },
  pid: { type: 'string' },
  host: { type: 'string' },
  'gpu-backend': { type: 'string' },
  'no-dcgm': { type: 'boolean' },
  out: { type: 'string' },
  'run-id': { type: 'string' },
} as const;

export const PROBE_FLAGS = { json: { type: 'boolean' }, fingerprint: { type: 'boolean' }, 'no-dcgm': { type: 'boolean' } } as const;
