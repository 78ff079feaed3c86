// Types of the pure parts of scripts/node/bench/rooflineReport.mjs (for tests/unit/benchFlops.test.ts and benchSizes.test.ts).
import type { ConvShapes } from './flops.mjs';
export declare function convShareRows(
  convs: Record<string, ConvShapes & { ms: number; count: number }>,
  rooflineGflops: number | null,
): (ConvShapes & { ms: number; count: number; flops: number | null; gflops: number | null; percent: number | null })[];

/** One configuration's entry of results.sizes (scripts/node/bench/sizes.mjs). */
export interface SizeEntry {
  config: string;
  proposal: boolean;
  imageSize: number;
  threads?: number;
  spArch?: { channels: number[] };
  flopsPerSample?: { engine: number; reference: number };
  measures?: { compareGrid?: { median: number; runs: number } };
  error?: string;
}
export interface SizeResults {
  sizes?: Record<string, SizeEntry> | null;
  roofline?: unknown;
  backends?: unknown;
}
export declare function sizeEntries(results: SizeResults, imageSize: number, proposal: boolean): SizeEntry[];
export declare function sizeTargets(results: SizeResults): { target: string; value: string; met: boolean }[];
export declare function readmeLines(results: SizeResults): string[];
