// What the roofline kernels (bench/roofline/*.wat) compute, in JavaScript: the bench compares the accumulators a
// kernel stored with these, so a GFLOP/s figure is never that of a loop the compiler shortened or dropped.
// Pure functions, unit-tested in tests/unit/benchFlops.test.ts.

/** Accumulators of the kernels (12 f32x4) and their FLOPs per loop trip: 2 rounds x 12 x 4 lanes x 2. */
export const ACCUMULATORS = 12;
export const LANES = 4;
export const FLOPS_PER_TRIP = 2 * ACCUMULATORS * LANES * 2;

/** The kernels' constants: acc = acc * MUL + ADD converges to ADD / (1 - MUL) = 1, so values stay normal floats. */
export const MUL = Math.fround(0.999);
export const ADD = Math.fround(0.001);

/** Distinct start values for the 48 lanes, in [0.5, 1.5). */
export function startValues() {
  const values = new Float32Array(ACCUMULATORS * LANES);
  for (let i = 0; i < values.length; i++) values[i] = 0.5 + i / values.length;
  return values;
}

/** One multiply-add in float32: rounded after the multiply and after the add, or once (fused). */
export function maddF32(x, y, z, fused) {
  // A product of two float32 values is exact in a double (24 + 24 bits < 53); adding z then rounds once to
  // double before the float32 rounding. That double rounding could differ from a true single rounding only when
  // the exact sum lies within 2^-29 ulp of a float32 halfway point: the check allows one float32 ulp for it.
  return fused ? Math.fround(x * y + z) : Math.fround(Math.fround(x * y) + z);
}

/** The accumulators after `trips` loop trips (2 steps each) from `start`. */
export function expectedAccumulators(start, trips, fused, mul = MUL, add = ADD) {
  const out = Float32Array.from(start);
  for (let i = 0; i < out.length; i++) {
    let acc = out[i];
    for (let s = 0; s < 2 * trips; s++) acc = maddF32(acc, mul, add, fused);
    out[i] = acc;
  }
  return out;
}

/** Largest difference between two arrays, in float32 ulps of the expected value (0 = bit-identical). */
export function maxUlpDifference(actual, expected) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.fround(expected[i]);
    if (Object.is(Math.fround(actual[i]), e)) continue;
    const ulp = 2 ** (Math.floor(Math.log2(Math.abs(e) || 2 ** -126)) - 23);
    worst = Math.max(worst, Math.abs(actual[i] - e) / ulp);
  }
  return worst;
}

/** Inputs whose fused and unfused multiply-adds differ: x * y = 1 + 2^-22 + 2^-46 exactly, z = -(1 + 2^-22). */
export const FUSED_PROBE = { x: 1 + 2 ** -23, y: 1 + 2 ** -23, z: -(1 + 2 ** -22), fused: 2 ** -46, unfused: 0 };
