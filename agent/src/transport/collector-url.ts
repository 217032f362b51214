import { AGENT_PATH, UsageError } from '@stagewatch/shared';

/**
 * The WebSocket URL agents connect to, from what a user gives as --collector: ws[s]:// or
 * http[s]://, with or without the `/agent` path (the README gives both forms), trailing slashes
 * ignored. A path other than /agent is kept, for a collector behind a proxy prefix.
 */
export function agentUrl(collector: string): string {
  let url: URL;
  try {
    url = new URL(collector);
  } catch {
    throw new UsageError(`--collector ${JSON.stringify(collector)} is not a URL (e.g. ws://collector:7711)`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) throw new UsageError(`--collector must be ws://, wss://, http:// or https:// (got ${url.protocol})`);
  if (url.search || url.hash) throw new UsageError(`--collector ${JSON.stringify(collector)}: give the address without ?query or #fragment (a token goes in --token)`);
  const scheme = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  const base = url.pathname.replace(/\/+$/, '').replace(new RegExp(`${AGENT_PATH}$`), '');
  return `${scheme}//${url.host}${base}${AGENT_PATH}`;
}

export interface UpgradeRefusal {
  message: string;
  /** A configuration error: retrying the same request cannot succeed. */
  permanent: boolean;
}

/**
 * What an HTTP answer to the WebSocket upgrade means for the operator. 4xx (but 408 and 429) is a
 * configuration error: the agent says which setting to fix and stops retrying; 5xx and the two
 * transient 4xx are retried with backoff.
 */
export function upgradeRefusal(status: number, url: string): UpgradeRefusal {
  if (status === 401) return { permanent: true, message: `collector refused the token (HTTP 401): give the collector's token with --token or STAGEWATCH_TOKEN` };
  if (status === 403) return { permanent: true, message: `collector forbids this agent (HTTP 403): check the token and any proxy in front of ${url}` };
  if (status === 404) {
    return { permanent: true, message: `nothing at ${url} (HTTP 404): --collector must be the collector's address, ws://HOST:7711 (with or without /agent); is something else listening there?` };
  }
  if (status === 408 || status === 429 || status >= 500) return { permanent: false, message: `collector answered HTTP ${status}` };
  if (status >= 400) return { permanent: true, message: `collector refused the connection (HTTP ${status}): check --collector ${url}` };
  return { permanent: false, message: `collector answered HTTP ${status} instead of upgrading to a WebSocket` };
}
