import { COMMON_FLAGS } from '@stagewatch/shared';

/** Every flag of every collector command, declared once. */
export const SERVE_FLAGS = {
  ...COMMON_FLAGS,
  host: { type: 'string' },
  port: { type: 'string' },
  data: { type: 'string' },
  token: { type: 'string' },
  'tokens-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'hello-timeout-ms': { type: 'string' },
  'max-payload-mib': { type: 'string' },
  'influx-url': { type: 'string' },
  'influx-token': { type: 'string' },
  'influx-org': { type: 'string' },
  'influx-bucket': { type: 'string' },
  'retain-raw': { type: 'string' },
  'retain-1s': { type: 'string' },
  'retain-10s': { type: 'string' },
  store: { type: 'string' },
} as const;

export const REPORT_FLAGS = { vs: { type: 'string' }, format: { type: 'string' }, data: { type: 'string' }, store: { type: 'string' }, thresholds: { type: 'string' }, out: { type: 'string' } } as const;

export const COMPARE_FLAGS = {
  baseline: { type: 'string' },
  metrics: { type: 'string' },
  format: { type: 'string' },
  by: { type: 'string' },
  confidence: { type: 'string' },
  data: { type: 'string' },
  store: { type: 'string' },
  out: { type: 'string' },
} as const;

/** `export RUN`: the store it reads, the run file it writes. */
export const EXPORT_FLAGS = { data: { type: 'string' }, store: { type: 'string' }, out: { type: 'string' } } as const;

/** `import FILE...`: the store it writes (--data or --store); --partial keeps the whole lines of a file cut short. */
export const IMPORT_FLAGS = { data: { type: 'string' }, store: { type: 'string' }, partial: { type: 'boolean' } } as const;
