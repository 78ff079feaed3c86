// Pure pixel helpers (no DOM), shared by the views and the "Download grid" export; tested in Node.
import type { RgbaImage } from '../engine/protocol';

/** The largest centred square of a width x height image. */
export function centreCropSquare(width: number, height: number): { x: number; y: number; side: number } {
  const side = Math.min(width, height);
  return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), side };
}

/** Nearest-neighbour enlargement by an integer factor (every pixel becomes a factor x factor block). */
export function upscaleNearest(image: RgbaImage, factor: number): RgbaImage {
  const width = image.width * factor;
  const height = image.height * factor;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < width; x++) {
      const from = (sy * image.width + Math.floor(x / factor)) * 4;
      data.set(image.data.subarray(from, from + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

export interface SheetOptions {
  /** Each image is enlarged by this integer factor (nearest neighbour). */
  scale: number;
  /** Pixels between cells and around the sheet. */
  gap: number;
  /** RGBA of the background and of empty cells. */
  background?: [number, number, number, number];
  empty?: [number, number, number, number];
}

/**
 * Lays rows of images (null = not generated yet) out on one sheet, left-aligned, one cell size per sheet (the
 * largest image; smaller ones are enlarged to fill it when the ratio is whole). This is the "Download grid" image.
 */
export function composeSheet(rows: (RgbaImage | null)[][], options: SheetOptions): RgbaImage {
  const { scale, gap } = options;
  const background = options.background ?? [255, 255, 255, 255];
  const empty = options.empty ?? [230, 232, 236, 255];
  const all = rows.flat().filter((image): image is RgbaImage => image !== null);
  const cellSource = Math.max(1, ...all.map((image) => Math.max(image.width, image.height)));
  const cell = cellSource * scale;
  const columns = Math.max(1, ...rows.map((row) => row.length));
  const width = gap + columns * (cell + gap);
  const height = gap + Math.max(1, rows.length) * (cell + gap);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set(background, i * 4);

  rows.forEach((row, r) => {
    row.forEach((image, c) => {
      const left = gap + c * (cell + gap);
      const top = gap + r * (cell + gap);
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          const to = ((top + y) * width + left + x) * 4;
          if (!image) {
            data.set(empty, to);
            continue;
          }
          const sx = Math.floor((x * image.width) / cell);
          const sy = Math.floor((y * image.height) / cell);
          const from = (sy * image.width + sx) * 4;
          data.set(image.data.subarray(from, from + 4), to);
        }
      }
    });
  });
  return { width, height, data };
}
