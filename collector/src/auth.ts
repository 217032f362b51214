import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { UsageError } from '@stagewatch/shared';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Bearer-token check. Tokens are compared as SHA-256 digests with timingSafeEqual, so neither a
 * token's length nor its prefix leaks through timing, and every configured token is tried.
 */
export class TokenAuth {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  check(presented: string | null): boolean {
    if (!this.enabled) return true;
    if (presented === null) return false;
    const d = digest(presented);
    let ok = false;
    for (const t of this.digests) ok = timingSafeEqual(t, d) || ok;
    return ok;
  }
}

/** The token from `Authorization: Bearer T`, or `?token=T` for clients that cannot set headers. */
export function presentedToken(headers: Record<string, string | string[] | undefined>, url: URL): string | null {
  const h = headers.authorization;
  const value = Array.isArray(h) ? h[0] : h;
  const m = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return m ? (m[1] as string) : url.searchParams.get('token');
}

/** Tokens shorter than this are refused: they could be guessed. */
export const MIN_TOKEN_LENGTH = 8;

/** One token per line; blank lines and `#` comments are skipped. */
export function readTokensFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--tokens-file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  const tokens = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (tokens.length === 0) throw new UsageError(`--tokens-file ${file}: no tokens in it`);
  const short = tokens.findIndex((t) => t.length < MIN_TOKEN_LENGTH);
  if (short >= 0) throw new UsageError(`--tokens-file ${file}: token ${short + 1} is shorter than ${MIN_TOKEN_LENGTH} characters`);
  return tokens;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}
