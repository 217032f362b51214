export * from './errors.js';
export * from './metrics.js';
export * from './sample.js';
export * from './probe.js';
export * from './protocol.js';
export * from './cli-args.js';
export * from './marks.js';
export * from './backoff.js';
