// The interpolation as a looping animated GIF (gifenc): the frames forth and back, enlarged without smoothing, on
// one palette shared by all frames so that colours do not flicker between them.
import { GIFEncoder, applyPalette, quantize } from 'gifenc';
import type { RgbaImage } from '../../engine/protocol';
import { upscaleNearest } from '../pixels';

/** Frame indices of one loop: 0 .. n-1 and back to 1, so that the loop has no jump. */
export function pingPongOrder(count: number): number[] {
  const forth = Array.from({ length: count }, (_, i) => i);
  return [...forth, ...forth.slice(1, -1).reverse()];
}

/** An animated GIF (looping forever) of the frames in ping-pong order, each shown `delayMs`. */
export function encodeAnimationGif(frames: RgbaImage[], options: { scale: number; delayMs: number }): Uint8Array {
  if (frames.length === 0) throw new Error('there are no frames to export');
  const large = frames.map((frame) => upscaleNearest(frame, options.scale));
  const { width, height } = large[0];
  if (large.some((frame) => frame.width !== width || frame.height !== height))
    throw new Error('the frames differ in size');
  const all = new Uint8ClampedArray(large.length * width * height * 4);
  large.forEach((frame, i) => all.set(frame.data, i * width * height * 4));
  const palette = quantize(all, 256);
  const indexed = large.map((frame) => applyPalette(frame.data, palette));
  const gif = GIFEncoder();
  for (const i of pingPongOrder(frames.length))
    gif.writeFrame(indexed[i], width, height, { palette, delay: options.delayMs, repeat: 0 });
  gif.finish();
  return gif.bytes();
}
