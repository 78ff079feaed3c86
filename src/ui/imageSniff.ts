// What a file really is, before any decoder sees it (pure, no DOM; tested in Node). A playground that people share
// will be fed anything: text renamed .png, cut or damaged files, 12000 px photos, SVGs with scripts, HEIC. The
// bytes are checked here so that each of those ends with a sentence that says what is wrong, and so that an image
// too large to decode safely is refused from its header, before it is decoded.

import { inspectPng } from '../share/pngBytes';

export type ImageFormat =
  | 'png'
  | 'jpeg'
  | 'gif'
  | 'webp'
  | 'bmp'
  | 'ico'
  | 'avif'
  | 'heic'
  | 'tiff'
  | 'jxl'
  | 'psd'
  | 'svg'
  | 'text'
  | 'unknown';

/** Largest image decoded (width x height); a 12000x12000 photo would need 576 MB of RGBA. */
export const MAX_IMAGE_PIXELS = 50_000_000;
/** Longer sides than this are refused as well (canvas limits). */
export const MAX_IMAGE_SIDE = 30_000;
/** "Very elongated": only the centre square is used, so say so. */
export const ELONGATED_RATIO = 3;

export const FORMAT_NAMES: Record<ImageFormat, string> = {
  png: 'PNG',
  jpeg: 'JPEG',
  gif: 'GIF',
  webp: 'WebP',
  bmp: 'BMP',
  ico: 'ICO',
  avif: 'AVIF',
  heic: 'HEIC/HEIF',
  tiff: 'TIFF',
  jxl: 'JPEG XL',
  psd: 'Photoshop',
  svg: 'SVG',
  text: 'text',
  unknown: 'unknown',
};

export interface SniffResult {
  format: ImageFormat;
  /** From the header, when the format has one this module reads. */
  width?: number;
  height?: number;
  /** More than one frame (animated GIF / WebP). */
  animated?: boolean;
  /** Set when the file is refused: a sentence fragment, e.g. "the PNG is cut short (…)". */
  problem?: string;
}

const ascii = (bytes: Uint8Array, at: number, length: number) =>
  String.fromCharCode(...bytes.subarray(at, at + length));
const u16be = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const u16le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u24le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
const u32le = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const i32le = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24);

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 1024);
  if (sample.length === 0) return false;
  let printable = 0;
  for (const b of sample) {
    if (b === 0) return false;
    if (b === 9 || b === 10 || b === 13 || b >= 32) printable++;
  }
  return printable === sample.length;
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  if (!looksLikeText(bytes)) return false;
  const head = new TextDecoder('utf-8', { fatal: false })
    .decode(bytes.subarray(0, 4096))
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  return (
    head.startsWith('<svg') ||
    ((head.startsWith('<?xml') || head.startsWith('<!doctype svg') || head.startsWith('<!--')) && head.includes('<svg'))
  );
}

/** The format, from the leading bytes (never from the name or the MIME type, which can lie). */
export function detectFormat(bytes: Uint8Array): ImageFormat {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG') return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 2 && ascii(b, 0, 2) === 'BM') return 'bmp';
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return 'ico';
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp') {
    const brand = ascii(b, 8, 4);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'heic';
  }
  if (
    b.length >= 4 &&
    ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) ||
      (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))
  )
    return 'tiff';
  if ((b.length >= 2 && b[0] === 0xff && b[1] === 0x0a) || (b.length >= 12 && ascii(b, 4, 8) === 'JXL \r\n\x87\n'))
    return 'jxl';
  if (b.length >= 4 && ascii(b, 0, 4) === '8BPS') return 'psd';
  if (looksLikeSvg(b)) return 'svg';
  if (looksLikeText(b)) return 'text';
  return 'unknown';
}

function sniffPng(bytes: Uint8Array): SniffResult {
  const result = inspectPng(bytes);
  if (!result.ok) {
    if (result.problem === 'truncated')
      return { format: 'png', problem: `the PNG is cut short (${result.detail}); the file is incomplete` };
    return { format: 'png', problem: `the PNG is damaged (${result.detail})` };
  }
  // An APNG has an acTL chunk before its first IDAT.
  const animated = findChunk(bytes, 'acTL');
  return {
    format: 'png',
    width: result.header.width,
    height: result.header.height,
    ...(animated ? { animated: true } : {}),
  };
}

function findChunk(bytes: Uint8Array, type: string): boolean {
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
    const name = ascii(bytes, at + 4, 4);
    if (name === type) return true;
    if (name === 'IDAT' || name === 'IEND') return false;
    at += 12 + length;
  }
  return false;
}

/** Walks the JPEG's marker segments up to the scan, reads the frame size, and requires the end marker. */
function sniffJpeg(bytes: Uint8Array): SniffResult {
  const damaged = (detail: string): SniffResult => ({ format: 'jpeg', problem: `the JPEG is damaged (${detail})` });
  const cut = (detail: string): SniffResult => ({
    format: 'jpeg',
    problem: `the JPEG is cut short (${detail}); the file is incomplete`,
  });
  let at = 2;
  let size: { width: number; height: number } | null = null;
  for (;;) {
    if (at >= bytes.length) return cut('it ends inside its header');
    if (bytes[at] !== 0xff) return damaged(`byte ${at} should start a marker`);
    while (at < bytes.length && bytes[at] === 0xff) at++; // fill bytes
    if (at >= bytes.length) return cut('it ends inside its header');
    const marker = bytes[at++];
    if (marker === 0xd8 || marker === 0x00) return damaged(`unexpected marker 0x${marker.toString(16)}`);
    if (marker === 0xd9) return size ? cut('it ends before its image data') : damaged('it has no image');
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // standalone markers
    if (at + 2 > bytes.length) return cut('it ends inside its header');
    const length = u16be(bytes, at);
    if (length < 2) return damaged('a segment has an impossible length');
    if (at + length > bytes.length) return cut('a header segment runs past the end of the file');
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (length < 8) return damaged('its frame header is too short');
      const height = u16be(bytes, at + 3);
      const width = u16be(bytes, at + 5);
      if (width === 0 || height === 0) return damaged('it declares a zero size');
      size = { width, height };
    }
    if (marker === 0xda) {
      if (!size) return damaged('its image data comes before its frame header');
      // The entropy-coded data ends with FF D9 (a few trailing bytes after it are common and harmless).
      const scanStart = at + length;
      for (let i = bytes.length - 2; i >= scanStart; i--) {
        if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return { format: 'jpeg', ...size };
      }
      return cut('it has no end-of-image marker');
    }
    at += length;
  }
}

/** Logical screen size and frame count (walks the blocks; stops quietly at the end of a cut file). */
function sniffGif(bytes: Uint8Array): SniffResult {
  if (bytes.length < 13) return { format: 'gif', problem: 'the GIF is cut short; the file is incomplete' };
  const width = u16le(bytes, 6);
  const height = u16le(bytes, 8);
  if (width === 0 || height === 0) return { format: 'gif', problem: 'the GIF is damaged (it declares a zero size)' };
  let at = 13;
  if (bytes[10] & 0x80) at += 3 << ((bytes[10] & 7) + 1);
  let frames = 0;
  const skipSubBlocks = () => {
    while (at < bytes.length && bytes[at] !== 0) at += bytes[at] + 1;
    at++;
  };
  while (at < bytes.length && frames < 2) {
    const block = bytes[at];
    if (block === 0x3b) break;
    if (block === 0x21) {
      at += 2;
      skipSubBlocks();
    } else if (block === 0x2c) {
      frames++;
      const flags = bytes[at + 9];
      at += 10;
      if (flags & 0x80) at += 3 << ((flags & 7) + 1);
      at++; // LZW minimum code size
      skipSubBlocks();
    } else {
      break;
    }
  }
  if (frames === 0) return { format: 'gif', problem: 'the GIF has no image in it (the file is cut short or damaged)' };
  return { format: 'gif', width, height, ...(frames > 1 ? { animated: true } : {}) };
}

function sniffWebp(bytes: Uint8Array): SniffResult {
  if (bytes.length < 30 || u32le(bytes, 4) + 8 > bytes.length)
    return { format: 'webp', problem: 'the WebP is cut short; the file is incomplete' };
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8 ') return { format: 'webp', width: u16le(bytes, 26) & 0x3fff, height: u16le(bytes, 28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = u32le(bytes, 21);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    const animated = (bytes[20] & 0x02) !== 0;
    return {
      format: 'webp',
      width: u24le(bytes, 24) + 1,
      height: u24le(bytes, 27) + 1,
      ...(animated ? { animated: true } : {}),
    };
  }
  return { format: 'webp', problem: 'the WebP is damaged (unknown first chunk)' };
}

function sniffBmp(bytes: Uint8Array): SniffResult {
  if (bytes.length < 26) return { format: 'bmp', problem: 'the BMP is cut short; the file is incomplete' };
  return { format: 'bmp', width: Math.abs(i32le(bytes, 18)), height: Math.abs(i32le(bytes, 22)) };
}

/**
 * Reads what the file is and, where the format allows, its size; sets `problem` for files that must not reach a
 * decoder (SVG, text, damaged or cut PNG/JPEG, images too large to decode safely).
 */
export function sniffImage(bytes: Uint8Array): SniffResult {
  if (bytes.length === 0) return { format: 'unknown', problem: 'the file is empty' };
  const format = detectFormat(bytes);
  let result: SniffResult;
  switch (format) {
    case 'png':
      result = sniffPng(bytes);
      break;
    case 'jpeg':
      result = sniffJpeg(bytes);
      break;
    case 'gif':
      result = sniffGif(bytes);
      break;
    case 'webp':
      result = sniffWebp(bytes);
      break;
    case 'bmp':
      result = sniffBmp(bytes);
      break;
    case 'svg':
      return {
        format,
        problem: 'SVG drawings are not accepted here (they can carry scripts); export it as PNG or JPEG first',
      };
    case 'text':
      return { format, problem: 'it contains text, not image data (was a text file renamed?)' };
    default:
      result = { format };
  }
  if (!result.problem && result.width !== undefined && result.height !== undefined) {
    const problem = sizeProblem(result.width, result.height);
    if (problem) result.problem = problem;
  }
  return result;
}

/** Why an image of this size is refused, or null. */
export function sizeProblem(width: number, height: number): string | null {
  if (width === 0 || height === 0) return 'the image has no pixels';
  if (width * height > MAX_IMAGE_PIXELS || Math.max(width, height) > MAX_IMAGE_SIDE) {
    const megapixels = ((width * height) / 1e6).toFixed(width * height >= 1e7 ? 0 : 1);
    return `it is ${width}×${height} pixels (${megapixels} megapixels), too large to open safely in a browser tab; the limit is ${MAX_IMAGE_PIXELS / 1e6} megapixels and ${MAX_IMAGE_SIDE} px a side. Make it smaller and try again`;
  }
  return null;
}

/** Why a file the browser failed to decode failed, in words. */
export function undecodableMessage(format: ImageFormat): string {
  switch (format) {
    case 'heic':
    case 'avif':
    case 'tiff':
    case 'jxl':
    case 'psd':
    case 'bmp':
    case 'ico':
      return `it is a ${FORMAT_NAMES[format]} image, which this browser cannot decode; convert it to PNG or JPEG first`;
    case 'unknown':
      return 'it is not an image this browser can read';
    default:
      return `it looks like a ${FORMAT_NAMES[format]} file but this browser could not decode it (the file is probably damaged)`;
  }
}

/** Notes for images that open but not as one might expect (shown as warnings). */
export function inputNotes(
  name: string,
  width: number,
  height: number,
  modelSize: number,
  extra: { animated?: boolean; transparent?: boolean } = {},
): string[] {
  const notes: string[] = [];
  const side = Math.min(width, height);
  if (extra.animated) notes.push(`"${name}" is animated: only its first frame is used.`);
  if (Math.max(width, height) / side > ELONGATED_RATIO)
    notes.push(`"${name}" is ${width}×${height}, very elongated: only its centre square (${side}×${side}) is used.`);
  if (side < modelSize)
    notes.push(
      `"${name}" is only ${width}×${height} pixels, smaller than the model's ${modelSize}×${modelSize}: it was enlarged and will look blocky.`,
    );
  if (extra.transparent) notes.push(`"${name}" has transparent areas: they were filled with white.`);
  return notes;
}
