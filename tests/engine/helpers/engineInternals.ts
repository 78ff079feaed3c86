import type { PyramidEngine } from '../../../src/engine/engine';
import type { BackendRecovery } from '../../../src/engine/recovery';

type WithRecovery = <T>(work: () => Promise<T>) => Promise<T>;

/** The engine's private recovery (src/engine/recovery.ts), for the tests that drive them directly (bound to the engine). */
export function engineInternals(engine: PyramidEngine): {
  withRecovery: WithRecovery;
  handleBackendLoss(backend: string, reason: string): void;
} {
  const { recovery } = engine as unknown as { recovery: BackendRecovery };
  return {
    withRecovery: recovery.run.bind(recovery),
    handleBackendLoss: recovery.handleLoss.bind(recovery) as (backend: string, reason: string) => void,
  };
}
