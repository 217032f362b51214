import type http from 'node:http';
import type { WebSocketServer } from 'ws';

export type Phase = 'open' | 'closing' | 'closed';

/**
 * Closes every socket of a WebSocketServer with `code` and resolves once all are gone (ws emits
 * the server's close when its last client closed). A peer that does not finish the closing
 * handshake within graceMs is cut off.
 */
export async function closeWebSockets(wss: WebSocketServer, code: number, reason: string, graceMs: number): Promise<void> {
  for (const ws of wss.clients) ws.close(code, reason);
  const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
  const cut = setTimeout(() => {
    for (const ws of wss.clients) ws.terminate();
  }, graceMs).unref();
  await closed;
  clearTimeout(cut);
}

/**
 * Stops accepting connections and resolves once the last one ended. Idle keep-alive connections
 * close at once; requests still running get graceMs, then their connections are cut too (a
 * client that trickles its headers in must not hold a shutdown open).
 */
export async function closeHttp(server: http.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), graceMs).unref();
  await closed;
  clearTimeout(cut);
}

/** Lets callbacks queued by the last synchronous work (acks after a commit) run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
