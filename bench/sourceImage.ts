// The bench's input image, the same in the browser bench and the Node WebGPU bench.
import type { RgbaImage } from '../src/engine/protocol';

/** A deterministic S x S source image: smooth colour gradients with a few edges. */
export function sourceImage(size: number): RgbaImage {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = (y * size + x) * 4;
      data[p] = (x * 255) / (size - 1);
      data[p + 1] = (y * 255) / (size - 1);
      data[p + 2] = ((x + y) % 8 < 4 ? 200 : 60) + 20 * Math.sin(x / 3);
      data[p + 3] = 255;
    }
  }
  return { width: size, height: size, data };
}
