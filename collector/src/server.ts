import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { AGENT_KEY_HEADER, AGENT_PATH, AgentKeySchema, CloseCode, COLUMNAR, FRAMES_HEADER, lastSamples, Once, StagewatchError, UsageError } from '@stagewatch/shared';
import { httpApi } from './http-api.js';
import { LiveHub } from './live.js';
import { AgentConnection } from './agent-connection.js';
import { presentedToken, TokenAuth } from './auth.js';
import { Ingestor } from './ingest.js';
import { LatestValues } from './latest.js';
import { closeHttp, closeWebSockets, nextTurn, type Phase } from './lifecycle.js';
import { INFLUX_CURSOR_SAMPLES, InfluxSink, type InfluxOptions } from './sinks/influx.js';
import type { Sink } from './sinks/types.js';
import type { StoreEngine } from './store/engine.js';
import { openEngine } from './store/open.js';
import { PgPruner } from './store/pg/pruner.js';
import { Pruner, type RetentionPolicy } from './store/retention/pruner.js';
import type { SqliteStore } from './store/sqlite.js';
import { CollectorTelemetry } from './telemetry.js';

export interface CollectorOptions {
  host: string;
  port: number;
  dataDir: string;
  tokens: readonly string[];
  tls?: { certFile: string; keyFile: string };
  maxPayloadBytes?: number;
  heartbeatMs?: number;
  /** A connection that has not said hello after this long is closed (1008). */
  helloTimeoutMs?: number;
  /** On close, how long peers get to finish before they are cut off. */
  closeGraceMs?: number;
  influx?: InfluxOptions;
  /** How long each resolution is kept (store/retention/); none: everything is kept. */
  retention?: RetentionPolicy;
  /** `--store postgres://...`: a PostgreSQL database shared with other collectors, instead of DIR's SQLite file. */
  pgUrl?: string;
  log: (msg: string) => void;
}

export interface Collector {
  url: string;
  port: number;
  /** The SQLite store (the default engine); reading it with --store postgres throws. */
  store: SqliteStore;
  engine: StoreEngine;
  telemetry: CollectorTelemetry;
  /** Open, closing (refusing new connections with 503) or closed. */
  readonly phase: Phase;
  /** Refuses new work, commits and acks what arrived, closes every socket, then the store. Once. */
  close(): Promise<void>;
}

const LIVE_PATH = '/live';

/** The collector: agent WebSockets at /agent, the store, and the HTTP API beside them. */
export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  if (opts.pgUrl === undefined) mkdirSync(opts.dataDir, { recursive: true });
  const { engine: store, sqlite, postgres, release } = await openEngine(opts.dataDir, opts.pgUrl, opts.log);
  const telemetry = new CollectorTelemetry();
  const ingest = new Ingestor(store, telemetry, opts.log);
  const auth = new TokenAuth(opts.tokens);
  // GPU names and uuids for /metrics labels, re-read from the store when a new GPU shows up.
  let knownGpus = new Map<string, { uuid: string; name: string }>();
  const latest = new LatestValues(telemetry.registry, (host, index) => {
    const key = `${host}\u0000${index}`;
    if (!knownGpus.has(key)) knownGpus = store.gpuTags();
    return knownGpus.get(key);
  });
  ingest.onCommit.push((stored) => {
    for (const p of stored) latest.update(lastSamples(p.blocks, p.host), p.batch.runId);
  });
  const sinkSource = store.sinkSource();
  if (opts.influx && !sinkSource) {
    await store.close();
    release();
    throw new UsageError(`--influx-url: the InfluxDB sink reads the SQLite store's cursors; it does not run with --store ${store.kind}`);
  }
  const sinks: Sink[] = opts.influx && sinkSource ? [new InfluxSink(sinkSource, opts.influx, opts.log, telemetry)] : [];
  for (const s of sinks) {
    ingest.onCommit.push(() => s.notify());
    s.start();
  }
  const onStep = (_: unknown, ms: number): void => telemetry.retentionStepSeconds.observe(ms / 1000);
  // Raw readings the Influx sink has not written yet are kept until it has, however old. On
  // PostgreSQL one collector of the database prunes at a time (an advisory lock per pass).
  const pruner = !opts.retention
    ? null
    : sqlite
      ? new Pruner(sqlite.retentionTarget(), opts.retention, {
          log: opts.log,
          onStep,
          ...(opts.influx && sinkSource ? { exportedThrough: () => sinkSource.cursor(INFLUX_CURSOR_SAMPLES) } : {}),
        })
      : postgres
        ? new PgPruner(() => postgres.retentionSession(), opts.retention, { log: opts.log, onStep })
        : null;
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const onRequest = httpApi({ store, telemetry, auth, log: opts.log });
  const live = new LiveHub(store);
  ingest.onCommit.push((stored) => live.onCommit(stored));
  store.watchElsewhere((host) => live.watches(host), (s) => live.onStoredElsewhere(s));

  let phase: Phase = 'open';
  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (phase === 'open') return onRequest(req, res);
    res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
    res.end(JSON.stringify({ error: 'collector shutting down' }));
  };
  // Headers must arrive within 10 s and a request within 30 s: a client trickling bytes in
  // (slowloris) holds a socket that long at most.
  const limits = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 };
  let heartbeat: NodeJS.Timeout | undefined;
  let server: http.Server;
  try {
    server = opts.tls
      ? https.createServer({ ...limits, cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) }, serve)
      : http.createServer(limits, serve);
  } catch (e) {
    await teardownEarly();
    throw new UsageError(`--tls-cert/--tls-key: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const maxPayload = opts.maxPayloadBytes ?? 16 * 1024 * 1024;
  // ws's allowSynchronousEvents stays on: deferring each message to its own turn was tried, and
  // made other agents wait behind a flood's queue of deferred frames (ping p50 0.5 s, not 0.06 s).
  const wss = new WebSocketServer({ noServer: true, maxPayload });
  // Agents learn at the upgrade that this collector takes columnar batch frames (batch-frame.ts).
  wss.on('headers', (headers) => headers.push(`${FRAMES_HEADER}: ${COLUMNAR}`));
  // Browsers send nothing but the upgrade; keep their frames tiny.
  const browsers = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const alive = new WeakMap<WebSocket, boolean>();

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://collector');
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (phase !== 'open') return refuse(503, 'Service Unavailable');
    if (url.pathname !== AGENT_PATH && url.pathname !== LIVE_PATH) return refuse(404, 'Not Found');
    // Checked before the upgrade, so a wrong token never gets a WebSocket. The token is never logged.
    if (!auth.check(presentedToken(req.headers, url))) {
      telemetry.authFailures.inc();
      opts.log(`refused ${req.socket.remoteAddress ?? '?'}: missing or wrong token`);
      return refuse(401, 'Unauthorized');
    }
    if (url.pathname === LIVE_PATH) {
      const host = url.searchParams.get('host');
      if (!host) return refuse(400, 'Bad Request');
      const windowMs = Number(url.searchParams.get('window_ms') ?? '') || undefined;
      browsers.handleUpgrade(req, socket, head, (ws) => live.subscribe(ws, host, windowMs));
      return;
    }
    const presentedKey = req.headers[AGENT_KEY_HEADER];
    const agentKey = presentedKey === undefined ? null : AgentKeySchema.safeParse(presentedKey);
    if (agentKey && !agentKey.success) return refuse(400, 'Bad Request');
    wss.handleUpgrade(req, socket, head, (ws) => {
      // ws closes an over-long frame with 1009 but no reason; give it one naming the limit.
      const close = ws.close.bind(ws);
      ws.close = (code?: number, data?: string | Buffer) =>
        close(code, data ?? (code === CloseCode.tooBig ? `frame exceeds maxPayload (${maxPayload} bytes)` : undefined));
      telemetry.connections.inc();
      telemetry.open.inc();
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      ws.on('close', () => telemetry.open.dec());
      ws.on('error', (e) => {
        // ws closes with 1009 itself when a frame exceeds maxPayload; count it as a reject.
        if ((e as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') telemetry.rejects.inc({ reason: 'too-big' });
        opts.log(`connection from ${req.socket.remoteAddress ?? '?'}: ${e.message}`);
      });
      new AgentConnection(ws, {
        store,
        ingest,
        telemetry,
        log: opts.log,
        maxBufferedBytes: 1 << 20,
        maxPendingBatches: 512,
        maxPendingSamples: 50_000,
        helloTimeoutMs: opts.helloTimeoutMs ?? 10_000,
      }, `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`, agentKey ? agentKey.data : null);
    });
  });

  // A connection that missed a whole heartbeat interval is dead: found within two intervals.
  heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        telemetry.deadConnections.inc();
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, heartbeatMs).unref();

  // Everything started so far is stopped again if the collector cannot listen, so the process
  // exits (and a supervisor's Restart= fires) instead of idling without a socket.
  async function teardownEarly(): Promise<void> {
    clearInterval(heartbeat);
    await pruner?.close();
    live.close();
    await Promise.all(sinks.map((s) => s.close()));
    await store.close();
    release();
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (e) {
    await teardownEarly();
    throw new StagewatchError('listen', listenMessage(e as NodeJS.ErrnoException, opts.host, opts.port));
  }
  pruner?.start();
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const graceMs = opts.closeGraceMs ?? 3000;
  const closing = new Once(async (): Promise<void> => {
    phase = 'closing';
    clearInterval(heartbeat);
    // Stops after the step under way (PostgreSQL: its transaction ends and the lock is let go).
    const pruned = pruner?.close();
    // What arrived is committed, and its acks go out, before any socket closes: an agent then
    // resends only what truly was not stored.
    await ingest.close();
    await nextTurn();
    live.close();
    await Promise.all([
      closeWebSockets(wss, CloseCode.goingAway, 'collector shutting down', graceMs),
      closeWebSockets(browsers, CloseCode.goingAway, 'collector shutting down', graceMs),
    ]);
    await closeHttp(server as http.Server, graceMs);
    await Promise.all(sinks.map((s) => s.close()));
    await pruned;
    await store.close();
    release();
    phase = 'closed';
  });
  return {
    url: `${opts.tls ? 'https' : 'http'}://${hostForUrl}:${port}`,
    port,
    get store(): SqliteStore {
      if (!sqlite) throw new StagewatchError('store-engine', `this collector stores into ${store.where}, not a SQLite file`);
      return sqlite;
    },
    engine: store,
    telemetry,
    get phase() {
      return phase;
    },
    close() {
      return closing.call();
    },
  };
}

/** A listen failure in words, with what to do about the common ones. */
export function listenMessage(e: NodeJS.ErrnoException, host: string, port: number): string {
  const where = `${host}:${port}`;
  const hint: Record<string, string> = {
    EADDRINUSE: 'the port is in use (another collector?); stop it or give another --port',
    EACCES: 'permission denied (ports below 1024 need privileges); give a --port of 1024 or more',
    EADDRNOTAVAIL: 'no interface on this machine has that address; check --host',
    ENOTFOUND: 'the host name does not resolve; check --host',
  };
  return `cannot listen on ${where}: ${hint[e.code ?? ''] ?? e.message} (${e.code ?? 'error'})`;
}
