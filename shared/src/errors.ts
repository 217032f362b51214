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

/**
 * A mistake in what the user gave (a flag, its value, a file a flag names, a config file): the
 * message names the flag or file and the value. A CLI prints it as one line and exits 2; the
 * HTTP API answers 400. Raised by type, so no caller compares code strings.
 */
export class UsageError extends StagewatchError {
  /** The exit status of a command that failed with this error. */
  static readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
    this.name = 'UsageError';
  }
}

/**
 * Something the user asked for by name is not there (a run id, a store): exit 2 as a usage
 * mistake, 404 over HTTP.
 */
export class NotFoundError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export function isStagewatchError(e: unknown, code?: string): e is StagewatchError {
  return e instanceof StagewatchError && (code === undefined || e.code === code);
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
