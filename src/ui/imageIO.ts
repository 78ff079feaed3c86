// Browser-side image work: decoding files and links, centre-cropping and resizing to the model's size, and PNG
// encoding for permalinks. Everything here needs a canvas; the pure parts live in pixels.ts and src/share/.
import type { RgbaImage } from '../engine/protocol';
import type { PreparedSource } from '../state/store';
import { inputNotes, sizeProblem, sniffImage, undecodableMessage, type SniffResult } from './imageSniff';
import { centreCropSquare } from './pixels';

/** Files above this are refused before decoding (a phone photo is ~5-15 MB). */
const MAX_FILE_BYTES = 60 * 1024 * 1024;

type Decoded = { source: CanvasImageSource; width: number; height: number; release(): void };

function canvasOfSize(width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function context2d(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('this browser cannot draw on a canvas');
  return context;
}

async function decodeWithImgElement(blob: Blob, failure: string): Promise<Decoded> {
  const url = URL.createObjectURL(blob);
  const element = new Image();
  element.decoding = 'async';
  element.src = url;
  try {
    await element.decode();
  } catch {
    URL.revokeObjectURL(url);
    throw new Error(failure);
  }
  return {
    source: element,
    width: element.naturalWidth,
    height: element.naturalHeight,
    release: () => URL.revokeObjectURL(url),
  };
}

async function readBytes(blob: Blob): Promise<Uint8Array> {
  try {
    return new Uint8Array(await blob.arrayBuffer());
  } catch {
    // A dropped folder, a file deleted or moved since it was chosen, a permission problem.
    throw new Error('it could not be read (is it a folder, or was the file moved?)');
  }
}

/**
 * Checks the bytes first (format, damage, size from the header: see imageSniff.ts), then decodes with
 * createImageBitmap where it works and <img> otherwise (some formats, older browsers). SVG never reaches a decoder.
 */
async function decodeBlob(blob: Blob, exact = false): Promise<Decoded & { sniffed: SniffResult }> {
  if (blob.size === 0) throw new Error('the file is empty');
  if (blob.size > MAX_FILE_BYTES)
    throw new Error(`the file is ${Math.round(blob.size / 1048576)} MB; the limit is ${MAX_FILE_BYTES / 1048576} MB`);
  const sniffed = sniffImage(await readBytes(blob));
  if (sniffed.problem) throw new Error(sniffed.problem);
  // The decoder is told the real type (a renamed file's MIME type lies).
  const typed = new Blob([blob], { type: sniffed.format === 'unknown' ? blob.type : `image/${sniffed.format}` });
  const failure = undecodableMessage(sniffed.format);
  let decoded: Decoded | null = null;
  if (typeof createImageBitmap === 'function') {
    try {
      const options: ImageBitmapOptions = exact
        ? { premultiplyAlpha: 'none', colorSpaceConversion: 'none' }
        : { imageOrientation: 'from-image' };
      const bitmap = await createImageBitmap(typed, options);
      decoded = { source: bitmap, width: bitmap.width, height: bitmap.height, release: () => bitmap.close() };
    } catch {
      // fall through to <img>
    }
  }
  decoded ??= await decodeWithImgElement(typed, failure);
  // Formats whose header is not read above are checked once decoded.
  const tooLarge = sizeProblem(decoded.width, decoded.height);
  if (tooLarge) {
    decoded.release();
    throw new Error(tooLarge);
  }
  return { ...decoded, sniffed };
}

/** Centre-crops to a square and resizes to size x size; halves step by step so large photos stay smooth. */
function drawAtModelSize(decoded: Decoded, size: number): { image: RgbaImage; transparent: boolean } {
  const crop = centreCropSquare(decoded.width, decoded.height);
  let current: CanvasImageSource = decoded.source;
  let region = { x: crop.x, y: crop.y, side: crop.side };
  while (region.side > size * 2) {
    const half = Math.ceil(region.side / 2);
    const step = canvasOfSize(half, half);
    const stepContext = context2d(step);
    stepContext.imageSmoothingQuality = 'high';
    stepContext.drawImage(current, region.x, region.y, region.side, region.side, 0, 0, half, half);
    current = step;
    region = { x: 0, y: 0, side: half };
  }
  const resized = canvasOfSize(size, size);
  const resizedContext = context2d(resized);
  resizedContext.imageSmoothingQuality = 'high';
  resizedContext.drawImage(current, region.x, region.y, region.side, region.side, 0, 0, size, size);
  const alpha = resizedContext.getImageData(0, 0, size, size).data;
  let transparent = false;
  for (let i = 3; i < alpha.length && !transparent; i += 4) transparent = alpha[i] < 255;
  // Transparent areas become white (the defined background): the models see opaque RGB.
  const canvas = canvasOfSize(size, size);
  const context = context2d(canvas);
  context.fillStyle = '#fff';
  context.fillRect(0, 0, size, size);
  context.drawImage(resized, 0, 0);
  const { data } = context.getImageData(0, 0, size, size);
  return { image: { width: size, height: size, data }, transparent };
}

export async function rgbaToPng(image: RgbaImage): Promise<Uint8Array> {
  const canvas = canvasOfSize(image.width, image.height);
  context2d(canvas).putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the browser could not encode a PNG');
  return new Uint8Array(await blob.arrayBuffer());
}

/** Decodes PNG bytes (from a link) to exact RGBA, without colour conversion. */
export async function pngToRgba(png: Uint8Array): Promise<RgbaImage> {
  const decoded = await decodeBlob(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }), true);
  try {
    const canvas = canvasOfSize(decoded.width, decoded.height);
    const context = context2d(canvas);
    context.drawImage(decoded.source, 0, 0);
    const { data } = context.getImageData(0, 0, decoded.width, decoded.height);
    return { width: decoded.width, height: decoded.height, data };
  } finally {
    decoded.release();
  }
}

export async function prepareFromBlob(
  blob: Blob,
  size: number,
  name: string,
  originalUrl?: string,
): Promise<PreparedSource> {
  const decoded = await decodeBlob(blob);
  try {
    const { image, transparent } = drawAtModelSize(decoded, size);
    const png = await rgbaToPng(image);
    const notes = inputNotes(name, decoded.width, decoded.height, size, {
      animated: decoded.sniffed.animated,
      transparent,
    });
    return {
      name,
      originalUrl: originalUrl ?? URL.createObjectURL(blob),
      image,
      png,
      ...(notes.length ? { notes } : {}),
    };
  } finally {
    decoded.release();
  }
}

export async function prepareFromUrl(url: string, size: number, name: string): Promise<PreparedSource> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    throw new Error('it could not be downloaded');
  }
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return prepareFromBlob(await response.blob(), size, name, url);
}

export async function prepareFromPng(png: Uint8Array, size: number): Promise<PreparedSource> {
  const image = await pngToRgba(png);
  if (image.width !== size || image.height !== size)
    throw new Error(`the image is ${image.width}×${image.height}, not ${size}×${size}`);
  return { name: 'image from the link', originalUrl: null, image, png };
}

/** Puts RGBA pixels on a canvas element (resizing it to the image). */
export function paintCanvas(canvas: HTMLCanvasElement, image: RgbaImage): void {
  if (canvas.width !== image.width) canvas.width = image.width;
  if (canvas.height !== image.height) canvas.height = image.height;
  const context = canvas.getContext('2d');
  context?.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
}

/** Saves RGBA pixels as a PNG download. */
export async function downloadPng(image: RgbaImage, fileName: string): Promise<void> {
  downloadBytes(await rgbaToPng(image), fileName, 'image/png');
}

/** Saves bytes as a download. */
export function downloadBytes(bytes: Uint8Array, fileName: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
