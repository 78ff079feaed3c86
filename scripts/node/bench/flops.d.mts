// Types of scripts/node/bench/flops.mjs (for tests/unit/benchFlops.test.ts).
export interface ConvShapes {
  kernel: string;
  input: number[];
  filter: number[];
  output: number[];
}
export interface SpArchLike {
  zDim: number;
  baseSize: number;
  channels: number[];
  injections: { level: string; stage: number }[];
}
export interface LevelLike {
  name: string;
  size: number | null;
  channels: number;
}
export declare function isConvKernel(name: string): boolean;
export declare function convFlops(conv: ConvShapes): number;
export declare function rooflineShare(
  flops: number,
  ms: number,
  rooflineGflops: number,
): { gflops: number; percent: number };
export declare function spFlopsPerSample(
  arch: SpArchLike,
  levels: LevelLike[],
  imageSize: number,
): { engine: number; reference: number; dense: number; injections: number };
export declare function widthProposal(
  arch: SpArchLike,
  levels: LevelLike[],
  imageSize: number,
  maxFlops: number,
): { channels: number[]; flops: number } | null;
