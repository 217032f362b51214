/** Every error stagewatch raises on purpose carries a stable `code`, so callers branch on it, not on text. */
export class StagewatchError extends Error {
  readonly code: string;
  override readonly cause?: unknown;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'StagewatchError';
    this.code = code;
    this.cause = options?.cause;
  }
}

export function isStagewatchError(e: unknown, code?: string): e is StagewatchError {
  return e instanceof StagewatchError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
