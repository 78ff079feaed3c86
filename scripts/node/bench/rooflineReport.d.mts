// Types of the pure parts of scripts/node/bench/rooflineReport.mjs (for tests/unit/benchFlops.test.ts).
import type { ConvShapes } from './flops.mjs';
export declare function convShareRows(
  convs: Record<string, ConvShapes & { ms: number; count: number }>,
  rooflineGflops: number | null,
): (ConvShapes & { ms: number; count: number; flops: number | null; gflops: number | null; percent: number | null })[];
