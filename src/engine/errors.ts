import type { EngineFailure } from './protocol';

/**
 * A failure with a machine-readable code and, where it applies, the file at fault: thrown by the engine, sent by
 * the worker as an `error` message, and rebuilt from it by the UI's engine client.
 */
export class EngineError extends Error {
  readonly code: EngineFailure;
  readonly file?: string;

  constructor(code: EngineFailure, message: string, file?: string) {
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
