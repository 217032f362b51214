import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The collector's own counters, served at /metrics in Prometheus text format. */
export class CollectorTelemetry {
  /** Where the collector's other parts (the sink, the latest-values gauges) register their metrics. */
  readonly registry = new Registry();
  readonly connections = new Counter({ name: 'stagewatch_collector_connections_total', help: 'Agent WebSocket connections accepted', registers: [this.registry] });
  readonly open = new Gauge({ name: 'stagewatch_collector_connections_open', help: 'Agent connections open now', registers: [this.registry] });
  readonly samples = new Counter({ name: 'stagewatch_collector_samples_stored_total', help: 'Samples committed to the store', registers: [this.registry] });
  readonly batches = new Counter({ name: 'stagewatch_collector_batches_stored_total', help: 'Batches committed to the store', registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'stagewatch_collector_batches_duplicate_total', help: 'Resent batches already stored, dropped', registers: [this.registry] });
  readonly rejects = new Counter({ name: 'stagewatch_collector_rejects_total', help: 'Connections closed for bad input, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly authFailures = new Counter({ name: 'stagewatch_collector_auth_failures_total', help: 'Upgrades refused with 401', registers: [this.registry] });
  readonly deadConnections = new Counter({ name: 'stagewatch_collector_dead_connections_total', help: 'Connections closed for missing heartbeats', registers: [this.registry] });
  readonly storeErrors = new Counter({ name: 'stagewatch_collector_store_errors_total', help: 'Failed store transactions', registers: [this.registry] });
  readonly agentLoss = new Gauge({ name: 'stagewatch_collector_agent_spool_dropped_samples', help: 'Samples an agent dropped from a full spool, as it reports them', labelNames: ['agent'], registers: [this.registry] });
  readonly agentQuarantine = new Gauge({
    name: 'stagewatch_collector_agent_spool_quarantined_batches',
    help: 'Spool entries an agent quarantined, as it reports them: damaged (corrupt) or refused by the collector (rejected)',
    labelNames: ['agent', 'reason'],
    registers: [this.registry],
  });
  readonly ingestSeconds = new Histogram({
    name: 'stagewatch_collector_ingest_seconds',
    help: 'Batch arrival to commit',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** Pruning steps (store/retention/): how long each held the event loop, ingest waiting behind it. */
  readonly retentionStepSeconds = new Histogram({
    name: 'stagewatch_collector_retention_step_seconds',
    help: 'Retention pruning steps (one transaction each): time each took',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });

  /** Everything above in Prometheus' text format, for /metrics. */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }
}
