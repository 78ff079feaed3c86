// Messages between the bench page (bench.ts), its worker (bench.worker.ts) and the driver (scripts/node/bench/main.mjs).
import type { BackendName, BackendRequest } from '../src/engine/protocol';

/** grid16: 1 level x 16 samples, run by the image-size experiment (scripts/node/bench/sizes.mjs). */
export type MeasureName = 'spGrid' | 'compareGrid' | 'lag' | 'extract' | 'grid16';

export interface BenchConfig {
  backend: BackendRequest;
  /** cold: load and draw the first grid only; steady: then the repeated measures; ort: then the ORT-web peer. */
  phase: 'cold' | 'steady' | 'ort';
  packUrl: string;
  pageUrl: string;
  measures: MeasureName[];
  minRuns: number;
  /** Per-measure override of minRuns (e.g. 1 for the compare grid on the slow software backends). */
  minRunsFor: Partial<Record<MeasureName, number>>;
  /** Measures timed without a warm-up run first (their first run is timed; recorded as warmupMs null). */
  noWarmup: MeasureName[];
  maxRuns: number;
  /** Per measure, after its warm-up run. */
  budgetMs: number;
  /** Measures run once under tf.profile (peak memory, per-kernel time). */
  profileMeasures: MeasureName[];
  /** Compare-grid batch sizes (images per forward) to try besides the engine's default. */
  batchSweep: number[];
  batchSweepRuns: number;
  batchPixels?: number;
  noStore?: boolean;
  /** WASM threads to ask the engine for (default: the engine's own, min(cores, 4) when cross-origin isolated). */
  wasmThreads?: number;
  /** phase=ort: what the onnxruntime-web peer runs (bench/ort.ts). */
  ort?: OrtConfig;
}

export interface OrtConfig {
  /** Graphs of bench/tmp/onnx/onnx.json to run ('reference', 'engine'). */
  graphs: string[];
  executionProvider: 'wasm' | 'webgpu';
  /** ort.env.wasm.numThreads: the engine's WASM thread count in the same page. */
  threads: number;
  /** ORT's intra-op threads spin-wait when idle (ORT's default) instead of parking. */
  allowSpinning: boolean;
  minRuns: number;
  maxRuns: number;
  /** For all alternated rounds (engine, then each graph), after one warm-up each. */
  budgetMs: number;
}

export interface OrtGraphResult {
  file: string;
  bytes: number;
  sessionMs?: number;
  warmupMs?: number;
  /** Largest |ORT - engine| over the compare grid's outputs (values in [-1, 1]). */
  maxAbsDiff?: number;
  /** Compare-grid times, one per round. */
  runs: number[];
  error?: string;
}

export interface OrtReport {
  ortVersion: string;
  executionProvider: string;
  threads: number;
  allowSpinning: boolean;
  crossOriginIsolated: boolean;
  opset: number;
  /** Images per forward, as the engine batches the compare grid. */
  batches: number[];
  /** The engine's compare grid in the same rounds. */
  engineRuns: number[];
  graphs: Record<string, OrtGraphResult>;
}

export interface MeasureResult {
  runs: number[];
  warmupMs: number | null;
}

export interface ProfileResult {
  peakBytes: number;
  peakTensors: number;
  newBytes: number;
  newTensors: number;
  kernelCount: number;
  profiledWallMs: number;
  byKernel: Record<string, { ms: number; count: number }>;
  /** The same, by kernel and input shapes (input x filter for convs): which layers cost what. */
  byShape: Record<string, { ms: number; count: number }>;
  /** Conv kernels by input, filter and output shapes, for their FLOPs (scripts/node/bench/flops.mjs). */
  convs: Record<
    string,
    { kernel: string; input: number[]; filter: number[]; output: number[]; ms: number; count: number }
  >;
}

export interface Memory {
  numBytes: number;
  numTensors: number;
}

export type BenchEvent =
  | { type: 'boot'; at: number }
  | {
      type: 'cold';
      marks: Record<string, number>;
      backend: BackendName;
      detail: string;
      fellBackFrom: BackendName | null;
      fallbackReason: string | null;
      fromCache: boolean;
      packBytes: number;
      simd: boolean | null;
      threads: number | null;
      workerCrossOriginIsolated: boolean;
      memoryAfterLoad: Memory;
    }
  | { type: 'progress'; message: string }
  | { type: 'ort'; report: OrtReport }
  | {
      type: 'steady';
      backend: BackendName;
      results: Partial<Record<MeasureName, MeasureResult>>;
      profiles: Partial<Record<MeasureName, ProfileResult>>;
      /** Compare grid at other batch sizes: run times and tf.profile peak bytes (both engines' weights loaded). */
      batching: Record<string, { runs: number[]; peakBytes: number }>;
      finalMemory: Memory;
    }
  | { type: 'done' }
  | { type: 'error'; message: string };

/** What the page exposes as window.__bench for the driver. */
export interface PageReport {
  navigationStart: number;
  pageScriptAt: number;
  crossOriginIsolated: boolean;
  userAgent: string;
  hardwareConcurrency: number;
  events: BenchEvent[];
  finished: boolean;
}
