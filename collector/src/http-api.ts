import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError, UsageError } from '@stagewatch/shared';
import { compareRequest } from './config/config.js';
import { COMPARE_FORMATS, renderCompare, type CompareFormat } from './report/compare-render.js';
import { makeCompare } from './report/compare-load.js';
import { presentedToken, type TokenAuth } from './auth.js';
import { DEFAULT_THRESHOLDS } from './analysis/thresholds.js';
import { makeReport, renderReport, REPORT_FORMATS, type ReportFormat } from './report/index.js';
import { bucketSeriesFromStore } from './report/series.js';
import type { StoreEngine } from './store/engine.js';
import type { CollectorTelemetry } from './telemetry.js';

// collector/dist/ui, whether this module runs from dist or (in tests) from src.
const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'ui');
const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/assets/app.js': 'assets/app.js',
  '/assets/app.css': 'assets/app.css',
  '/favicon.svg': 'favicon.svg',
  // Browsers ask for /favicon.ico whatever the page says; they accept the SVG under that name.
  '/favicon.ico': 'favicon.svg',
};
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function text(res: http.ServerResponse, type: string, body: string | Buffer): void {
  res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

/** A path segment decoded, or null where its percent-encoding is broken (`%c0%ae`, a lone `%`). */
function decodePart(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

export interface ApiContext {
  store: StoreEngine;
  telemetry: CollectorTelemetry;
  auth: TokenAuth;
  log: (msg: string) => void;
}

type Handler = (url: URL, res: http.ServerResponse, m: RegExpExecArray) => void | Promise<void>;

/** The collector's HTTP side: health, metrics, the JSON API and the web UI. */
export function httpApi(ctx: ApiContext): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { store } = ctx;
  const api: Array<[RegExp, Handler]> = [
    [/^\/api\/runs$/, async (_u, res) => json(res, 200, await store.listRuns())],
    [/^\/api\/hosts$/, async (_u, res) => json(res, 200, await store.hosts())],
    [
      /^\/api\/compare$/,
      async (url, res) => {
        const q = (k: string): string | undefined => url.searchParams.get(k) ?? undefined;
        const format = (q('format') ?? 'json') as CompareFormat;
        if (!COMPARE_FORMATS.includes(format)) return json(res, 400, { error: `format must be one of ${COMPARE_FORMATS.join(', ')}` });
        const runs = (q('runs') ?? '').split(',').filter(Boolean);
        const req = compareRequest({ baseline: q('baseline'), runs, metrics: q('metrics'), by: q('by'), confidence: q('confidence') });
        const body = await store.readRuns([req.baseline, ...req.runs], (s) => renderCompare(makeCompare(s, req), format));
        text(res, { json: 'application/json', md: 'text/markdown', html: 'text/html', csv: 'text/csv' }[format], body);
      },
    ],
    [
      /^\/api\/runs\/([^/]+)\/report$/,
      async (url, res, m) => {
        const format = (url.searchParams.get('format') ?? 'json') as ReportFormat;
        if (!REPORT_FORMATS.includes(format)) return json(res, 400, { error: `format must be one of ${REPORT_FORMATS.join(', ')}` });
        const runId = decodePart(m[1] as string);
        if (runId === null) return json(res, 400, { error: 'run id is not valid percent-encoding' });
        const vs = url.searchParams.get('vs') ?? undefined;
        const body = await store.readRuns(vs === undefined ? [runId] : [runId, vs], (s) => renderReport(makeReport(s, runId, vs), format, s));
        text(res, format === 'json' ? 'application/json' : format === 'md' ? 'text/markdown' : 'text/html', body);
      },
    ],
    [
      /^\/api\/runs\/([^/]+)\/series$/,
      async (url, res, m) => {
        const runId = decodePart(m[1] as string);
        if (runId === null) return json(res, 400, { error: 'run id is not valid percent-encoding' });
        const host = url.searchParams.get('host');
        if (!host) return json(res, 400, { error: 'host is required' });
        if (!(await store.run(runId))) return json(res, 404, { error: `no run ${JSON.stringify(runId)}` });
        const points = Math.min(5000, Math.max(10, Number(url.searchParams.get('points') ?? '600') || 600));
        json(res, 200, await store.readRuns([runId], (s) => bucketSeriesFromStore(s, runId, host, points, DEFAULT_THRESHOLDS.gpmLagMs)));
      },
    ],
  ];

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://collector');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: `${req.method} not allowed` });
    const fail = (e: unknown): void => {
      if (e instanceof NotFoundError) return json(res, 404, { error: e.message });
      if (e instanceof UsageError) return json(res, 400, { error: e.message });
      ctx.log(`GET ${url.pathname} failed: ${(e as Error).message}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    };
    if (url.pathname === '/healthz') return json(res, 200, { ok: true });
    if (url.pathname === '/metrics') {
      // Host names, agent ids and every GPU's latest values: data, so behind the token like /api.
      if (!ctx.auth.check(presentedToken(req.headers, url))) return json(res, 401, { error: 'missing or wrong token' });
      ctx.telemetry.metricsText().then((body) => text(res, 'text/plain; version=0.0.4', body), fail);
      return;
    }
    const file = STATIC[url.pathname];
    if (file) {
      // The page itself is public; the data it loads is not (the token rides along in ?token=).
      readFile(path.join(UI_DIR, file)).then((body) => text(res, TYPES[path.extname(file)] ?? 'application/octet-stream', body), fail);
      return;
    }
    for (const [re, handle] of api) {
      const m = re.exec(url.pathname);
      if (!m) continue;
      if (!ctx.auth.check(presentedToken(req.headers, url))) return json(res, 401, { error: 'missing or wrong token' });
      try {
        return void Promise.resolve(handle(url, res, m)).catch(fail);
      } catch (e) {
        return fail(e);
      }
    }
    json(res, 404, { error: `no route ${url.pathname}` });
  };
}
