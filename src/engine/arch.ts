// Reading architecture hyperparameters out of pack.json with clear errors (the code has no model constants).
import { EngineError } from './errors';

export function archError(model: string, message: string): EngineError {
  return new EngineError('pack-format', `pack.json models.${model}.arch: ${message}`, 'pack.json');
}

export function positiveInt(arch: Record<string, unknown>, model: string, key: string): number {
  const value = arch[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw archError(model, `${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function positiveIntList(arch: Record<string, unknown>, model: string, key: string, length?: number): number[] {
  const value = arch[key];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
    throw archError(model, `${key} must be a list of positive integers, got ${JSON.stringify(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw archError(model, `${key} must have ${length} entries, got ${value.length}`);
  }
  return value as number[];
}

export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EngineError('pack-format', `pack.json ${what} must be an object`, 'pack.json');
  }
  return value as Record<string, unknown>;
}
