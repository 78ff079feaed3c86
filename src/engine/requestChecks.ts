// The checks every engine request passes before any tensor is made (a bad request is a 'bad-input' EngineError,
// never a TF.js failure halfway), the request caps the UI and the permalink share, and the host-side math on
// results. Free of TF.js: the UI imports the caps.
import { EngineError } from './errors';
import type { GenerateRequest, LagRequest } from './protocol';

/** Most samples per level one request may ask for (the UI's field and a link's `n` share it). */
export const MAX_SAMPLES = 16;
/** Most LAG candidates one request may ask for (the UI's field and a link's `k` share it). */
export const MAX_LAG_CANDIDATES = 16;

export function validateGenerate(request: GenerateRequest, levelCount: number, numClasses: number, size: number): void {
  if (!Array.isArray(request.levels) || request.levels.length === 0)
    throw new EngineError('bad-input', 'levels must not be empty');
  for (const level of request.levels) {
    if (!Number.isInteger(level) || level < 0 || level >= levelCount) {
      throw new EngineError('bad-input', `level ${level} is not in 0..${levelCount - 1}`);
    }
  }
  if (!Number.isInteger(request.samples) || request.samples < 1 || request.samples > MAX_SAMPLES) {
    throw new EngineError('bad-input', `samples must be an integer in 1..${MAX_SAMPLES}, got ${request.samples}`);
  }
  if (!Number.isInteger(request.classIndex) || request.classIndex < 0 || request.classIndex >= numClasses) {
    throw new EngineError('bad-input', `classIndex ${request.classIndex} is not in 0..${numClasses - 1}`);
  }
  if (!Number.isInteger(request.seed))
    throw new EngineError('bad-input', `seed must be an integer, got ${request.seed}`);
  if (typeof request.featuresId !== 'string' || request.featuresId === '') {
    throw new EngineError('bad-input', 'featuresId must be a non-empty string');
  }
  if (request.mask !== undefined && request.mask !== null) {
    const mask = request.mask as unknown;
    if (!(mask instanceof Float32Array) && !Array.isArray(mask))
      throw new EngineError('bad-input', 'mask must be a Float32Array');
    if (request.mask.length !== size * size) {
      throw new EngineError(
        'bad-input',
        `mask has ${request.mask.length} values; ${size}x${size} needs ${size * size}`,
      );
    }
    for (let i = 0; i < request.mask.length; i++) {
      const v = request.mask[i];
      if (!(v >= 0 && v <= 1)) throw new EngineError('bad-input', `mask value ${v} at ${i} is not in [0, 1]`);
    }
  }
}

export function validateLag(request: LagRequest): void {
  if (!Number.isInteger(request.candidates) || request.candidates < 1 || request.candidates > MAX_LAG_CANDIDATES) {
    throw new EngineError(
      'bad-input',
      `candidates must be an integer in 1..${MAX_LAG_CANDIDATES}, got ${request.candidates}`,
    );
  }
  if (!(request.amplitude >= 0 && request.amplitude <= 1)) {
    throw new EngineError('bad-input', `amplitude must be in [0, 1], got ${request.amplitude}`);
  }
  if (!Number.isInteger(request.seed))
    throw new EngineError('bad-input', `seed must be an integer, got ${request.seed}`);
}

/** Softmax in float64 (the class prediction shown in the app). */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / sum);
}

/**
 * Per-pixel standard deviation across `count` RGB images (population std per channel, averaged over the three
 * channels), in [-1, 1] units; and its maximum.
 */
export function spreadAcrossCandidates(
  images: Float32Array,
  count: number,
  pixels: number,
): { std: Float32Array; maxStd: number } {
  const std = new Float32Array(pixels);
  let maxStd = 0;
  const stride = pixels * 3;
  for (let p = 0; p < pixels; p++) {
    let channelStdSum = 0;
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < count; i++) {
        const v = images[i * stride + p * 3 + c];
        sum += v;
        sumSq += v * v;
      }
      const mean = sum / count;
      channelStdSum += Math.sqrt(Math.max(0, sumSq / count - mean * mean));
    }
    std[p] = channelStdSum / 3;
    maxStd = Math.max(maxStd, std[p]);
  }
  return { std, maxStd };
}
