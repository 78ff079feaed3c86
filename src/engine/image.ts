// Conversions between canvas RGBA pixels and the [-1, 1] float images the networks use, and the heat map of LAG's
// per-pixel spread.
import { EngineError } from './errors';
import type { RgbaImage } from './protocol';

/**
 * Checks an image from a message: positive integer width and height, RGBA bytes (Uint8ClampedArray or Uint8Array)
 * of exactly width x height x 4 values, and, if given, the expected size. Anything else is `bad-input`.
 */
export function validateRgba(image: unknown, expectedSize?: number): RgbaImage {
  if (typeof image !== 'object' || image === null) throw new EngineError('bad-input', 'image is missing');
  const { width, height, data } = image as { width?: number; height?: number; data?: unknown };
  if (!Number.isInteger(width) || !Number.isInteger(height) || width! < 1 || height! < 1) {
    throw new EngineError('bad-input', `image size ${String(width)}x${String(height)} is not a positive integer size`);
  }
  if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array)) {
    throw new EngineError('bad-input', 'image data must be RGBA bytes (Uint8ClampedArray)');
  }
  if (expectedSize !== undefined && (width !== expectedSize || height !== expectedSize)) {
    throw new EngineError('bad-input', `image is ${width}x${height}; the pack needs ${expectedSize}x${expectedSize}`);
  }
  if (data.length !== width! * height! * 4) {
    throw new EngineError(
      'bad-input',
      `image data has ${data.length} bytes; ${width}x${height} RGBA needs ${width! * height! * 4}`,
    );
  }
  return image as RgbaImage;
}

/** RGBA bytes -> RGB float32 in [-1, 1] (HWC, alpha dropped): v / 127.5 - 1. Validates the image first. */
export function rgbaToSigned(image: RgbaImage, expectedSize?: number): Float32Array {
  const { width, height, data } = validateRgba(image, expectedSize);
  const out = new Float32Array(width * height * 3);
  for (let p = 0, q = 0; p < data.length; p += 4, q += 3) {
    out[q] = data[p] / 127.5 - 1;
    out[q + 1] = data[p + 1] / 127.5 - 1;
    out[q + 2] = data[p + 2] / 127.5 - 1;
  }
  return out;
}

/** RGB float in [-1, 1] (HWC, starting at `offset`) -> RGBA bytes: round((x + 1) * 127.5) clamped, alpha 255. */
export function signedToRgba(values: Float32Array | number[], width: number, height: number, offset = 0): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 0, q = offset; p < data.length; p += 4, q += 3) {
    // Uint8ClampedArray rounds half to even; Math.round keeps the documented round-half-up.
    data[p] = Math.round((values[q] + 1) * 127.5);
    data[p + 1] = Math.round((values[q + 1] + 1) * 127.5);
    data[p + 2] = Math.round((values[q + 2] + 1) * 127.5);
    data[p + 3] = 255;
  }
  return { width, height, data };
}

// Perceptually ordered dark-to-bright stops (close to matplotlib's "inferno").
const HEAT_STOPS: [number, number, number][] = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

/** Maps values in [0, scale] to heat-map colours (0 = black, scale = pale yellow). scale <= 0 gives black. */
export function heatMap(values: Float32Array, width: number, height: number, scale: number): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  const last = HEAT_STOPS.length - 1;
  for (let i = 0; i < width * height; i++) {
    const t = scale > 0 ? Math.min(1, Math.max(0, values[i] / scale)) : 0;
    const position = t * last;
    const k = Math.min(last - 1, Math.floor(position));
    const f = position - k;
    const [a, b] = [HEAT_STOPS[k], HEAT_STOPS[k + 1]];
    data[i * 4] = Math.round(a[0] + (b[0] - a[0]) * f);
    data[i * 4 + 1] = Math.round(a[1] + (b[1] - a[1]) * f);
    data[i * 4 + 2] = Math.round(a[2] + (b[2] - a[2]) * f);
    data[i * 4 + 3] = 255;
  }
  return { width, height, data };
}
