// Walks between two samples: spherical interpolation (slerp) of the noise of two seeds, and the linear blend of two
// classes in the generator's class-conditional batch norms. Free of TF.js, so the UI can import the caps.
//
// The noise is computed in JavaScript (noise.ts), and so is the slerp, with + - * / and sqrt only (which IEEE 754
// rounds identically everywhere; Math.acos and Math.sin may differ in the last bit between engines): a frame's z is
// the same on every backend, browser and machine, and a permalink with the endpoints reproduces it.
import { EngineError } from './errors';
import { sinCos2Pi } from './noise';
import type { InterpolateRequest } from './protocol';
import { validateGenerate, validateLag } from './requestChecks';

/** Fewest and most frames one interpolation may ask for (the UI's field and a link's `frames` share them). */
export const MIN_INTERP_FRAMES = 2;
export const MAX_INTERP_FRAMES = 16;

const HALF_PI = 1.5707963267948966;
const TWO_PI = 6.283185307179586;

/** arctan for x >= 0 with IEEE-exact operations: two half-angle reductions, then the odd series (|x| <= 0.2). */
function atanNonNegative(x: number): number {
  if (x > 1) return HALF_PI - atanNonNegative(1 / x);
  let reduced = x;
  for (let k = 0; k < 2; k++) reduced = reduced / (1 + Math.sqrt(1 + reduced * reduced)); // atan(x) = 2 atan(x')
  const x2 = reduced * reduced;
  // x2 <= 0.04: the series sum (-1)^n x^(2n+1) / (2n+1) is below 1e-18 by n = 13.
  let series = 1 / 27;
  for (let k = 25; k >= 1; k -= 2) series = 1 / k - x2 * series;
  return 4 * reduced * series;
}

/** arccos on [-1, 1], deterministic: acos(c) = 2 atan(sqrt((1 - c) / (1 + c))). */
export function acosDeterministic(c: number): number {
  const clamped = Math.min(1, Math.max(-1, c));
  if (clamped === -1) return 2 * HALF_PI;
  return 2 * atanNonNegative(Math.sqrt((1 - clamped) / (1 + clamped)));
}

/** sin(theta) for theta in [0, 2 pi), deterministic. */
function sinDeterministic(theta: number): number {
  return sinCos2Pi(theta / TWO_PI)[0];
}

/**
 * Spherical interpolation between a and b at t in [0, 1], in float64 with a float32 result. t = 0 and t = 1 give
 * a and b exactly; nearly parallel vectors (angle below 1e-6) are blended linearly, where slerp and lerp agree.
 */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  if (a.length !== b.length) throw new RangeError(`slerp: lengths ${a.length} and ${b.length} differ`);
  if (t === 0) return Float32Array.from(a);
  if (t === 1) return Float32Array.from(b);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  const out = new Float32Array(a.length);
  const denominator = Math.sqrt(normA) * Math.sqrt(normB);
  const theta = denominator > 0 ? acosDeterministic(dot / denominator) : 0;
  let weightA = 1 - t;
  let weightB = t;
  if (theta > 1e-6) {
    const sinTheta = sinDeterministic(theta);
    weightA = sinDeterministic((1 - t) * theta) / sinTheta;
    weightB = sinDeterministic(t * theta) / sinTheta;
  }
  for (let i = 0; i < a.length; i++) out[i] = weightA * a[i] + weightB * b[i];
  return out;
}

/** The positions of `frames` frames from the first endpoint (0) to the second (1), evenly spaced. */
export function frameTimes(frames: number): number[] {
  return Array.from({ length: frames }, (_, i) => (i === frames - 1 ? 1 : i / (frames - 1)));
}

/** One row of class weights per frame: (1 - t) on classA plus t on classB (one-hot when they are the same). */
export function classWeightRows(
  classA: number,
  classB: number,
  times: readonly number[],
  numClasses: number,
): number[][] {
  return times.map((t) => {
    const row = new Array<number>(numClasses).fill(0);
    row[classA] += 1 - t;
    row[classB] += t;
    return row;
  });
}

/** `count` copies of one row, concatenated (LAG's one low-resolution input for every frame). */
export function repeatRows(row: Float32Array, count: number): Float32Array {
  const out = new Float32Array(count * row.length);
  for (let i = 0; i < count; i++) out.set(row, i * row.length);
  return out;
}

export function validateInterpolate(
  request: InterpolateRequest,
  levelCount: number,
  numClasses: number,
  size: number,
): void {
  if (typeof request !== 'object' || request === null)
    throw new EngineError('bad-input', 'the interpolation request is missing');
  const { frames } = request;
  if (!Number.isInteger(frames) || frames < MIN_INTERP_FRAMES || frames > MAX_INTERP_FRAMES) {
    throw new EngineError(
      'bad-input',
      `frames must be an integer in ${MIN_INTERP_FRAMES}..${MAX_INTERP_FRAMES}, got ${frames}`,
    );
  }
  if (!Number.isInteger(request.seedB))
    throw new EngineError('bad-input', `seedB must be an integer, got ${request.seedB}`);
  if (request.model === 'sp') {
    const { featuresId, level, seedA: seed, classA: classIndex, mask } = request;
    validateGenerate({ featuresId, levels: [level], samples: 1, seed, classIndex, mask }, levelCount, numClasses, size);
    if (!Number.isInteger(request.classB) || request.classB < 0 || request.classB >= numClasses) {
      throw new EngineError('bad-input', `classB ${request.classB} is not in 0..${numClasses - 1}`);
    }
  } else if (request.model === 'lag') {
    validateLag({ image: request.image, candidates: 1, seed: request.seedA, amplitude: request.amplitude });
  } else {
    throw new EngineError(
      'bad-input',
      `model must be "sp" or "lag", got ${JSON.stringify((request as { model?: unknown }).model)}`,
    );
  }
}
