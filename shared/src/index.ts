export * from './errors.js';
export * from './metrics.js';
export * from './sample.js';
export * from './probe.js';
