import type { ErrorCode } from './protocol';

/** An error the engine reports to the UI with a machine-readable code and, where it applies, the file at fault. */
export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;

  constructor(code: ErrorCode, message: string, file?: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.file = file;
  }
}

/** Thrown when a request was cancelled or superseded; the worker reports it with code `cancelled`. */
export class CancelledError extends EngineError {
  constructor(message = 'cancelled') {
    super('cancelled', message);
    this.name = 'CancelledError';
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
