// The engine's retry after a lost backend (cpu/wasm in Node): bounded, and never hiding an error that is not a loss.
// The WebGPU cases (a loss announced after the failure, mid-generation) are in recovery.webgpu.test.ts.
import { describe, expect, it } from 'vitest';
import { PyramidEngine } from '../../src/engine/engine';
import { engineInternals as internals } from './helpers/engineInternals';

/** An engine on the cpu backend that records each backend it switches to. */
async function engineOnCpu(): Promise<{ engine: PyramidEngine; changes: string[] }> {
  const changes: string[] = [];
  const engine = new PyramidEngine({ onBackendChanged: (backend) => changes.push(backend) });
  await engine.init('cpu');
  return { engine, changes };
}

describe('retry after a lost backend', () => {
  it('an error on a backend that was not lost is rethrown at once, without a retry or a switch', async () => {
    const { engine, changes } = await engineOnCpu();
    let runs = 0;
    await expect(
      internals(engine).withRecovery(async () => {
        runs++;
        throw new Error('out of memory');
      }),
    ).rejects.toThrow('out of memory');
    expect(runs).toBe(1);
    expect(changes).toEqual([]);
    expect(engine.backend?.backend).toBe('cpu');
  });

  it('a step that loses its backend on every run stops after one retry per backend and reports its error', async () => {
    const { engine } = await engineOnCpu();
    let runs = 0;
    await expect(
      internals(engine).withRecovery(async () => {
        runs++;
        internals(engine).handleBackendLoss(engine.backend!.backend, `lost #${runs}`);
        throw new Error(`device lost #${runs}`);
      }),
    ).rejects.toThrow(/device lost #\d|no TF.js backend could start/); // its own error, or the switch's
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(4); // the first run and at most 3 retries (4 backends in the order)
  });

  it('a step that never settles (a read on a lost WebGL context) is abandoned when the loss is announced, and run again', async () => {
    const { engine, changes } = await engineOnCpu();
    const ranOn: string[] = [];
    const result = internals(engine).withRecovery(async () => {
      ranOn.push(engine.backend!.backend);
      if (ranOn.length === 1) return new Promise<string>(() => {}); // never settles
      return 'done';
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ranOn).toEqual(['cpu']);
    internals(engine).handleBackendLoss('cpu', 'WebGL context lost (simulated)');
    await expect(result).resolves.toBe('done');
    expect(ranOn).toEqual(['cpu', 'wasm']);
    expect(changes).toEqual(['wasm']);
  });

  it('a loss announced while the step fails is waited for, and the step runs again on the next backend', async () => {
    const { engine, changes } = await engineOnCpu();
    const ranOn: string[] = [];
    const result = await internals(engine).withRecovery(async () => {
      ranOn.push(engine.backend!.backend);
      if (ranOn.length === 1) {
        internals(engine).handleBackendLoss('cpu', 'simulated');
        throw new Error('read-back failed');
      }
      return 'done';
    });
    expect(result).toBe('done');
    expect(ranOn).toEqual(['cpu', 'wasm']);
    expect(changes).toEqual(['wasm']);
  });
});
