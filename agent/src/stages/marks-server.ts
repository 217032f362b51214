import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkloadMarkSchema, WorkloadRuntimeSchema, type Mark, type WorkloadRuntime } from '@stagewatch/shared';
import { issue } from './marks-file.js';

const MAX_BODY = 1 << 20;

export interface MarksServer {
  url: string;
  /** Where the workload posts what it is (`STAGEWATCH_FINGERPRINT_URL`). */
  fingerprintUrl: string;
  close(): Promise<void>;
}

/**
 * The local endpoint a workload posts its own marks to (`STAGEWATCH_MARKS_URL`): JSON lines,
 * each `{"kind","stage","step"?,"rank"?,"gauges"?,"t"?}`, spans with `"timing"` and `"category"`,
 * and `"dropped"` where the client lost marks (see WorkloadMarkSchema). A request is taken whole or refused
 * whole (400 naming the line and field), so a bad line never leaves half a request behind.
 * `POST /fingerprint` (`STAGEWATCH_FINGERPRINT_URL`) takes one JSON object saying what the
 * workload runs on: `{"python"?,"torch"?,"cuda_runtime"?,"torch_threads"?,"rank"?}`.
 */
export async function startMarksServer(
  onMarks: (marks: Mark[]) => void,
  log: (msg: string) => void,
  onWorkload: (w: WorkloadRuntime) => void = () => {},
): Promise<MarksServer> {
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fingerprint = req.method === 'POST' && req.url?.startsWith('/fingerprint');
    if (!fingerprint && (req.method !== 'POST' || !req.url?.startsWith('/marks'))) return reply(404, { error: 'POST JSON lines to /marks, or a JSON object to /fingerprint' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reply(413, { error: `body over ${MAX_BODY} bytes` });
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      if (fingerprint) return takeFingerprint(Buffer.concat(chunks).toString('utf8'));
      const arrived = Date.now();
      const marks: Mark[] = [];
      const lines = Buffer.concat(chunks).toString('utf8').split('\n');
      for (const [i, line] of lines.entries()) {
        if (line.trim() === '') continue;
        let raw: unknown;
        try {
          raw = JSON.parse(line);
        } catch (e) {
          log(`marks endpoint: line ${i + 1}: invalid JSON`);
          return reply(400, { error: `line ${i + 1}: invalid JSON: ${(e as Error).message}` });
        }
        const p = WorkloadMarkSchema.safeParse(raw);
        if (!p.success) {
          const why = `line ${i + 1}: ${issue(p.error.issues)}`;
          log(`marks endpoint: ${why}`);
          return reply(400, { error: why });
        }
        const { t, ...rest } = p.data;
        marks.push({ ...rest, t: t ?? arrived, source: 'http' });
      }
      onMarks(marks);
      reply(200, { accepted: marks.length });
    });
    const takeFingerprint = (body: string): void => {
      let raw: unknown;
      try {
        raw = JSON.parse(body);
      } catch (e) {
        log('fingerprint endpoint: invalid JSON');
        return reply(400, { error: `invalid JSON: ${(e as Error).message}` });
      }
      const p = WorkloadRuntimeSchema.safeParse(raw);
      if (!p.success) {
        const why = issue(p.error.issues);
        log(`fingerprint endpoint: ${why}`);
        return reply(400, { error: why });
      }
      onWorkload(p.data);
      reply(200, { accepted: 1 });
    };
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/marks`,
    fingerprintUrl: `http://127.0.0.1:${port}/fingerprint`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
