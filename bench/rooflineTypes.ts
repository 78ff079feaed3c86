// Messages of the WASM roofline page (roofline.ts), its workers (roofline.worker.ts) and the driver
// (scripts/node/bench/roofline.mjs).

export type RooflineToWorker =
  | {
      type: 'load';
      /** The kernels' WebAssembly binaries by name. */
      kernels: Record<string, ArrayBuffer>;
      /** Start values of the accumulators (float32), and the loop trips of the check run on them. */
      start: number[];
      checkTrips: number;
      mul: number;
      add: number;
      /** Arguments of madd_once, for kernels that export it (fused or not). */
      probe: [number, number, number];
    }
  | { type: 'go'; kernel: string; trips: number };

export interface KernelReady {
  /** The accumulators after the check run, and madd_once's result (null if the kernel has none). */
  checked: number[];
  probe: number | null;
  warmupCalls: number;
  msPerTrip: number;
}

export type RooflineFromWorker =
  | { type: 'ready'; kernels: Record<string, KernelReady> }
  | { type: 'done'; ms: number }
  | { type: 'error'; message: string };

export interface RooflineRequest {
  /** The kernels' WebAssembly binaries as bytes, by name (assembled by the driver from bench/roofline/*.wat). */
  kernels: Record<string, number[]>;
  threads: number;
  /** Rounds per kernel; the kernels take turns round by round, so they meet the same load. */
  rounds: number;
  /** Length of one timed call per thread. */
  targetMs: number;
  start: number[];
  checkTrips: number;
  mul: number;
  add: number;
  probe: [number, number, number];
}

export interface KernelRun {
  /** false when the browser refuses the binary (WebAssembly.validate); then only `error` is set. */
  valid: boolean;
  error?: string;
  /** Per thread: the accumulators after the check run, and madd_once's result. */
  checked?: number[][];
  probe?: (number | null)[];
  warmupCalls?: number[];
  /** Loop trips of each timed call, per thread. */
  trips?: number;
  /** Per round: wall time from `go` to the last thread's `done`, and each thread's own call time. */
  rounds?: { wallMs: number; threadMs: number[] }[];
}

export type RooflineRun = { error: string } | { kernels: Record<string, KernelRun> };
