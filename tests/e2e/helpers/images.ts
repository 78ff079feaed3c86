// Test images for the end-to-end suite, drawn procedurally (never dataset files).
import { makePng } from '../reliability-fixtures/files';

export interface Rgba {
  width: number;
  height: number;
  /** RGBA, row-major, 4 bytes a pixel. */
  data: Uint8Array;
}

/** An 8-bit RGBA PNG, through the suite's general encoder (reliability-fixtures/files.ts). */
export function encodePng(image: Rgba): Buffer {
  const { width, data } = image;
  return makePng(image.width, image.height, 6, 8, (x, y) =>
    Array.from(data.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)),
  );
}

/** Width and height from a PNG's IHDR; throws when the bytes are not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || signature.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

export type SceneName = 'boat-at-dusk' | 'red-blob-on-grass' | 'striped-kite';

/**
 * Small synthetic photos-ish scenes: a sky gradient, a ground band and an object, with a little deterministic
 * texture so the image is not flat. Landscape sizes exercise the app's centre crop.
 */
export function scene(name: SceneName, width = 96, height = 64): Rgba {
  const data = new Uint8Array(width * height * 4);
  let state = 0x9e3779b9 ^ (name.length * 7919);
  const noise = () => {
    state = (state ^ (state << 13)) >>> 0;
    state = (state ^ (state >>> 17)) >>> 0;
    state = (state ^ (state << 5)) >>> 0;
    return (state % 17) - 8;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / (width - 1);
      const v = y / (height - 1);
      let rgb: [number, number, number];
      if (name === 'boat-at-dusk') {
        if (v < 0.55)
          rgb = [250 - 120 * v, 140 - 60 * v, 90 + 120 * v]; // orange-to-violet sky
        else rgb = [20, 40 + 30 * (1 - v), 90 + 50 * Math.sin(x / 3)]; // dark sea with ripples
        const hull = v > 0.48 && v < 0.6 && Math.abs(u - 0.5) < 0.22 - (v - 0.48);
        const mast = Math.abs(u - 0.5) < 0.015 && v > 0.2 && v <= 0.48;
        if (hull) rgb = [60, 30, 20];
        if (mast) rgb = [230, 230, 220];
      } else if (name === 'red-blob-on-grass') {
        if (v < 0.5)
          rgb = [120 + 60 * v, 180 + 40 * v, 250]; // light blue sky
        else rgb = [40 + 30 * u, 150 - 60 * (v - 0.5), 40]; // grass
        const dx = (u - 0.45) * (width / height);
        const dy = v - 0.55;
        if (dx * dx + dy * dy < 0.05) rgb = [210, 30 + 80 * v, 40];
      } else {
        rgb = [30 + 200 * u, 200 - 150 * v, 120 + 100 * Math.sin(6 * u)];
        const inKite = Math.abs(u - 0.6) + Math.abs(v - 0.4) < 0.25;
        if (inKite) rgb = ((x + y) >> 2) % 2 ? [250, 240, 40] : [20, 20, 160];
      }
      const o = (y * width + x) * 4;
      const n = noise();
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, Math.round(rgb[c] + n)));
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

/** Centre-crop to a square and box-filter down to size x size (roughly what the app feeds the model). */
export function centreCropResize(image: Rgba, size: number): Rgba {
  const side = Math.min(image.width, image.height);
  const x0 = Math.floor((image.width - side) / 2);
  const y0 = Math.floor((image.height - side) / 2);
  const out = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx0 = x0 + Math.floor((x * side) / size);
      const sx1 = x0 + Math.max(Math.floor(((x + 1) * side) / size), Math.floor((x * side) / size) + 1);
      const sy0 = y0 + Math.floor((y * side) / size);
      const sy1 = y0 + Math.max(Math.floor(((y + 1) * side) / size), Math.floor((y * side) / size) + 1);
      const sum = [0, 0, 0];
      let count = 0;
      for (let sy = sy0; sy < sy1; sy++) {
        for (let sx = sx0; sx < sx1; sx++) {
          const o = (sy * image.width + sx) * 4;
          for (let c = 0; c < 3; c++) sum[c] += image.data[o + c];
          count++;
        }
      }
      const o = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(sum[c] / count);
      out[o + 3] = 255;
    }
  }
  return { width: size, height: size, data: out };
}
