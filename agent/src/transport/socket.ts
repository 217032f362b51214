import WebSocket from 'ws';
import { takesColumnar } from './frames.js';

/** How a socket ended, once: a close frame, a transport error, or an HTTP answer instead of the upgrade. */
export type SocketEnd =
  | { kind: 'closed'; code: number; reason: string }
  | { kind: 'error'; message: string }
  | { kind: 'refused'; status: number };

export interface SocketEvents {
  open(): void;
  message(text: string): void;
  /** The peer answered a ping. */
  pong(): void;
  /** Fires at most once, and never after destroy(). */
  end(how: SocketEnd): void;
}

/** What a connection needs of its socket; tests hand in a fake, the agent a `ws` WebSocket. */
export interface LinkSocket {
  readonly isOpen: boolean;
  /** The collector said at the upgrade that it takes columnar batch frames (frames.ts). */
  readonly columnar?: boolean;
  send(data: string | Uint8Array): void;
  ping(): void;
  /** Closes (with a close frame where the socket is open) and lets go at once; no event fires after it. */
  destroy(code?: number, reason?: string): void;
}

export type OpenSocket = (url: string, headers: Record<string, string>, on: SocketEvents) => LinkSocket;

/** The agent's socket: `ws`, with a 10 s handshake limit and 1 MiB frames from the collector at most. */
export const openWebSocket: OpenSocket = (url, headers, on) => {
  const ws = new WebSocket(url, { headers, handshakeTimeout: 10_000, maxPayload: 1 << 20 });
  let ended = false;
  const end = (how: SocketEnd): void => {
    if (ended) return;
    ended = true;
    on.end(how);
  };
  let columnar = false;
  ws.on('upgrade', (res) => (columnar = takesColumnar(res)));
  ws.on('unexpected-response', (_req, res) => end({ kind: 'refused', status: res.statusCode ?? 0 }));
  ws.on('error', (e) => end({ kind: 'error', message: e.message || String(e) }));
  ws.on('close', (code, reason) => end({ kind: 'closed', code, reason: reason.toString() }));
  ws.on('open', () => on.open());
  ws.on('pong', () => on.pong());
  ws.on('message', (data) => on.message(String(data)));
  return {
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    get columnar() {
      return columnar;
    },
    send: (data) => ws.send(data),
    ping: () => ws.ping(),
    destroy(code, reason) {
      ended = true;
      ws.removeAllListeners();
      // terminate() may still emit an error (a socket torn down mid-handshake); nobody listens now.
      ws.on('error', () => {});
      if (code !== undefined && ws.readyState === WebSocket.OPEN) ws.close(code, reason);
      ws.terminate();
    },
  };
};
