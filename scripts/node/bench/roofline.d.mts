// Types of the pure parts of scripts/node/bench/roofline.mjs (for tests/unit/benchFlops.test.ts).
export declare const FMA_WORTH: number;
export declare const THREADS: number[];
export declare function pairedSpeedup(
  fmaRounds: number[] | undefined,
  mulAddRounds: number[] | undefined,
): number | null;
export declare function verdict(fmaSpeedup: Record<number, number | null>): { pursue: boolean; text: string };
export declare function summarize(kernels: Record<string, unknown>): {
  gflops: Record<number, number | null>;
  fmaSpeedup: Record<number, number | null>;
  relaxedSimd: { accepted: boolean; fused: boolean | null; error: string | null } | null;
  verdict: { pursue: boolean; text: string };
};
export declare function assembleKernels(): Promise<Record<string, number[]>>;
export declare function benchRoofline(browser: unknown, server: unknown): Promise<unknown>;
