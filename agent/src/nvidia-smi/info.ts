/** Parsers for nvidia-smi's one-shot outputs. */

/** `NVIDIA-SMI version : 580.159.04` (r550+) or the banner's `NVIDIA-SMI 535.54.03` (older). */
export function parseVersion(text: string): string | null {
  const m = /NVIDIA-SMI version\s*:\s*(\S+)/.exec(text) ?? /NVIDIA-SMI\s+(\d+(?:\.\d+)+)/.exec(text);
  return m ? (m[1] as string) : null;
}
