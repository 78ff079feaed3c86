// Types of scripts/node/bench/madd.mjs (for tests/unit/benchFlops.test.ts).
export declare const ACCUMULATORS: number;
export declare const LANES: number;
export declare const FLOPS_PER_TRIP: number;
export declare const MUL: number;
export declare const ADD: number;
export declare function startValues(): Float32Array;
export declare function maddF32(x: number, y: number, z: number, fused: boolean): number;
export declare function expectedAccumulators(
  start: Float32Array,
  trips: number,
  fused: boolean,
  mul?: number,
  add?: number,
): Float32Array;
export declare function maxUlpDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number;
export declare const FUSED_PROBE: { x: number; y: number; z: number; fused: number; unfused: number };
