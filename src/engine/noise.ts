// Seeded standard-normal noise, computed in JavaScript so that a seed gives the same numbers on every backend,
// browser and machine.
//
// Derivation of the noise of sample `index` in stream `stream` ('sp' for the Semantic Pyramid z, 'lag' for LAG's
// noise map) under a user seed:
//
//   key   = splitmix32(splitmix32(seed ^ fnv1a32(stream)) ^ index)       (seed and index as uint32)
//   bits  = mulberry32(key): x1, x2, x3, ...                             (uint32 each)
//   pairs = Box-Muller on (x1, x2), (x3, x4), ...:
//             u1 = (x + 0.5) / 2^32 in (0, 1),   u2 = x' / 2^32 in [0, 1)
//             r  = sqrt(-2 ln u1);   n_2k = r cos(2 pi u2),   n_2k+1 = r sin(2 pi u2)
//   value = Math.fround(n)                                               (float64 math, float32 result)
//
// The numbers of one sample depend only on (seed, stream, index) and are a prefix-stable sequence, so sample i of
// a compare grid has the same z in every row, whatever the number of samples or levels requested, and a permalink
// with (seed, index) reproduces it. `ln`, `sin` and `cos` are written out below with + - * / only, which IEEE 754
// rounds identically everywhere; Math.log/Math.cos are implementation-approximated by the ECMAScript spec and could
// differ in the last bit between engines.

export type NoiseStream = 'sp' | 'lag';

function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32 finalizer: a bijection on uint32 with good avalanche. */
export function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** mulberry32 (Tommy Ettinger): a 32-bit state PRNG returning uint32 values. */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export function sampleKey(seed: number, stream: NoiseStream, index: number): number {
  return splitmix32((splitmix32((seed >>> 0) ^ fnv1a32(stream)) ^ (index >>> 0)) >>> 0);
}

const LN2 = 0.6931471805599453;
const SQRT_HALF = 0.7071067811865476;
const HALF_PI = 1.5707963267948966;

/** Natural log for x in (0, 1], using only IEEE-exact operations (so it is bit-identical on every engine). */
export function lnDeterministic(x: number): number {
  if (!(x > 0 && x <= 1)) throw new RangeError(`lnDeterministic expects (0, 1], got ${x}`);
  let m = x;
  let exponent = 0;
  while (m < SQRT_HALF) {
    m *= 2; // exact
    exponent -= 1;
  }
  // ln(m) = 2 atanh(t), t = (m - 1) / (m + 1), |t| <= 0.1716: the odd series converges to 1e-19 by t^23.
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  let series = 1 / 23;
  for (let k = 21; k >= 1; k -= 2) series = 1 / k + t2 * series;
  return exponent * LN2 + 2 * t * series;
}

/** [sin(2 pi u), cos(2 pi u)] for u in [0, 1), with IEEE-exact operations only. */
export function sinCos2Pi(u: number): [number, number] {
  const quarterTurns = u * 4; // exact (power of two)
  const quadrant = Math.floor(quarterTurns);
  let fraction = quarterTurns - quadrant; // exact, in [0, 1)
  const complement = fraction > 0.5;
  if (complement) fraction = 1 - fraction; // exact
  const theta = fraction * HALF_PI; // in [0, pi/4]
  const theta2 = theta * theta;
  // Taylor series in Horner form up to theta^17 (sin) and theta^18 (cos): error below 1e-16 on [0, pi/4].
  let sinTheta = 1;
  for (let n = 8; n >= 1; n--) sinTheta = 1 - (theta2 / (2 * n * (2 * n + 1))) * sinTheta;
  sinTheta *= theta;
  let cosTheta = 1;
  for (let n = 9; n >= 1; n--) cosTheta = 1 - (theta2 / ((2 * n - 1) * 2 * n)) * cosTheta;
  const [s, c] = complement ? [cosTheta, sinTheta] : [sinTheta, cosTheta];
  switch (quadrant) {
    case 0:
      return [s, c];
    case 1:
      return [c, -s];
    case 2:
      return [-s, -c];
    default:
      return [-c, s];
  }
}

const TWO_POW_32 = 4294967296;

/** Writes `count` standard-normal values of sample (seed, stream, index) into `out` at `offset`. */
export function fillStandardNormal(
  out: Float32Array,
  offset: number,
  count: number,
  seed: number,
  stream: NoiseStream,
  index: number,
): void {
  const next = mulberry32(sampleKey(seed, stream, index));
  for (let i = 0; i < count; i += 2) {
    const u1 = (next() + 0.5) / TWO_POW_32;
    const u2 = next() / TWO_POW_32;
    const radius = Math.sqrt(-2 * lnDeterministic(u1));
    const [sin, cos] = sinCos2Pi(u2);
    out[offset + i] = radius * cos;
    if (i + 1 < count) out[offset + i + 1] = radius * sin;
  }
}

/** The `count` noise values of one sample. */
export function standardNormal(seed: number, stream: NoiseStream, index: number, count: number): Float32Array {
  const out = new Float32Array(count);
  fillStandardNormal(out, 0, count, seed, stream, index);
  return out;
}

/** Noise of samples `indices` (each `countPerSample` values), concatenated: the rows of a batch tensor. */
export function standardNormalBatch(
  seed: number,
  stream: NoiseStream,
  indices: readonly number[],
  countPerSample: number,
): Float32Array {
  const out = new Float32Array(indices.length * countPerSample);
  indices.forEach((index, row) => fillStandardNormal(out, row * countPerSample, countPerSample, seed, stream, index));
  return out;
}
