import type { PyramidEngine } from '../../../src/engine/engine';

type WithRecovery = <T>(work: () => Promise<T>) => Promise<T>;

/** The engine's private recovery hooks, for the tests that drive them directly (bound to the engine). */
export function engineInternals(engine: PyramidEngine): {
  withRecovery: WithRecovery;
  handleBackendLoss(backend: string, reason: string): void;
} {
  const raw = engine as unknown as { withRecovery: WithRecovery; handleBackendLoss(backend: string, reason: string): void };
  return { withRecovery: raw.withRecovery.bind(engine) as WithRecovery, handleBackendLoss: raw.handleBackendLoss.bind(engine) };
}
