import { createRequire } from 'node:module';
import { StagewatchError } from '@stagewatch/shared';

/** What the NVML and DCGM bindings share: koffi, declaring a library's calls, its error strings. */
export type Koffi = typeof import('koffi');
export type KoffiFn = (...args: unknown[]) => unknown;
export type KoffiLib = ReturnType<Koffi['load']>;

/** koffi, or a StagewatchError with `code` saying it is not installed next to the agent. */
export function requireKoffi(code: string): Koffi {
  try {
    return createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    throw new StagewatchError(code, `koffi not installed next to the agent (${(e as Error).message.split('\n')[0]})`);
  }
}

/**
 * Each C declaration as a callable; a symbol the library lacks (an older driver or DCGM) is left
 * out, so only what needs it goes without.
 */
export function declareAll(lib: KoffiLib, decls: Record<string, string>): Record<string, KoffiFn> {
  const call: Record<string, KoffiFn> = {};
  for (const [k, d] of Object.entries(decls)) {
    try {
      call[k] = lib.func(d) as KoffiFn;
    } catch {
      // not in this version of the library
    }
  }
  return call;
}

/** The library's own words for a return code, or "<what> error N" where it has none. */
export function errorStringOf(fn: KoffiFn | undefined, what: string): (code: number) => string {
  return (code) => {
    try {
      const s = fn?.(code);
      return s === null || s === undefined ? `${what} error ${code}` : String(s);
    } catch {
      return `${what} error ${code}`;
    }
  };
}
