/** Parsers for nvidia-smi's one-shot outputs. */

/** `NVIDIA-SMI version : 580.159.04` (r550+) or the banner's `NVIDIA-SMI 535.54.03` (older). */
export function parseVersion(text: string): string | null {
  const m = /NVIDIA-SMI version\s*:\s*(\S+)/.exec(text) ?? /NVIDIA-SMI\s+(\d+(?:\.\d+)+)/.exec(text);
  return m ? (m[1] as string) : null;
}

/**
 * One leaf element's text from `nvidia-smi -q -x` (the host fingerprint reads it). The document is
 * flat and machine-written, so a tag scan is enough; a full XML parser would be a dependency for a
 * handful of fields.
 */
export function tag(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? (m[1] as string).trim() : null;
}
