// The ORT-web peer's parameters from the bench page's URL (phase=ort; scripts/node/bench/ort.mjs sets them).
import type { OrtConfig } from './types';

export function ortConfig(params: URLSearchParams, num: (name: string, fallback: number) => number): OrtConfig {
  const provider = params.get('ortEp') ?? 'wasm';
  if (provider !== 'wasm' && provider !== 'webgpu') throw new Error(`ortEp must be wasm or webgpu, got ${provider}`);
  return {
    graphs: (params.get('ortGraphs') ?? 'reference,engine').split(',').filter(Boolean),
    executionProvider: provider,
    threads: num('wasmThreads', 1),
    allowSpinning: params.get('ortSpin') === '1',
    minRuns: num('minRuns', 3),
    maxRuns: num('maxRuns', 20),
    budgetMs: num('budgetMs', 10_000),
  };
}
