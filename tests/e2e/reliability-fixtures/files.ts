// Test files for the reliability suite, made in code (PNG variants, GIF, SVG, text, cut and damaged copies, a
// 12000x12000 PNG) or read from the few small files generate.sh makes with ImageMagick (JPEG, CMYK JPEG, WebP,
// TIFF, HEIC). Never dataset images: flat colours, gradients and stripes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync, inflateSync } from 'node:zlib';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const readFixture = (name: string): Buffer => readFileSync(join(HERE, name));

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/**
 * A PNG of any plain colour type (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA) at 8 or 16 bits. `pixel` gives the
 * channel values in 0..255 (scaled to 16 bits as v*257, plus `low` in the low byte so 16-bit data is real).
 */
export function makePng(
  width: number,
  height: number,
  colorType: 0 | 2 | 4 | 6,
  bitDepth: 8 | 16,
  pixel: (x: number, y: number) => number[],
  low = 0,
): Buffer {
  const channels = CHANNELS[colorType];
  const bytesPer = bitDepth / 8;
  const stride = width * channels * bytesPer;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const values = pixel(x, y);
      for (let c = 0; c < channels; c++) {
        const at = y * (stride + 1) + 1 + (x * channels + c) * bytesPer;
        if (bitDepth === 8) raw[at] = values[c];
        else raw.writeUInt16BE(Math.min(65535, values[c] * 257 + (values[c] < 255 ? low : 0)), at);
      }
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = bitDepth;
  header[9] = colorType;
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ]);
}

/** A 1-bit greyscale PNG of any size (rows of zeros compress to almost nothing: 12000x12000 is ~20 KB). */
export function makeHugeBilevelPng(width: number, height: number): Buffer {
  const stride = Math.ceil(width / 8);
  const raw = Buffer.alloc(height * (stride + 1)); // all black, filter 0
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 1;
  header[9] = 0;
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array()),
  ]);
}

/** The image a striped, opaque test picture; distinct colours so the grid visibly follows it. */
export const stripes = (x: number, y: number): number[] =>
  ((x >> 2) + (y >> 3)) % 2 ? [30, 90, 200, 255] : [240, 200, 40, 255];
export const goodPng = (variant = 0): Buffer =>
  makePng(48, 40, 6, 8, (x, y) => {
    const [r, g, b] = stripes(x + variant * 3, y + variant);
    return [(r + variant * 40) % 256, g, (b + variant * 70) % 256, 255];
  });

/** An animated GIF: `frames` full frames of flat palette colours (first red), with a NETSCAPE loop block. */
export function makeAnimatedGif(width: number, height: number, colours: [number, number, number][]): Buffer {
  const palette = Buffer.alloc(3 * 4); // 4 entries (size field 1 → 2^(1+1))
  colours.slice(0, 4).forEach((c, i) => palette.set(c, i * 3));
  const parts: Buffer[] = [Buffer.from('GIF89a', 'latin1')];
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0x80 | 0x01; // global colour table, 4 entries
  parts.push(screen, palette);
  parts.push(Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 0x03, 0x01, 0x00, 0x00, 0x00]));
  for (let frame = 0; frame < colours.length; frame++) {
    parts.push(Buffer.from([0x21, 0xf9, 0x04, 0x04, 0x32, 0x00, 0x00, 0x00])); // 0.5 s, keep
    const descriptor = Buffer.alloc(10);
    descriptor[0] = 0x2c;
    descriptor.writeUInt16LE(width, 5);
    descriptor.writeUInt16LE(height, 7);
    parts.push(descriptor);
    parts.push(lzwUncompressed(new Uint8Array(width * height).fill(frame), 2));
  }
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

/**
 * GIF LZW without compression: a clear code before every few pixels keeps the code width at minCodeSize+1, so
 * each pixel is one code (the usual "uncompressed GIF" trick).
 */
function lzwUncompressed(indices: Uint8Array, minCodeSize: number): Buffer {
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const width = minCodeSize + 1;
  const perRun = (1 << width) - clear - 2; // codes before the table would need a wider code
  const codes: number[] = [];
  for (let i = 0; i < indices.length; i++) {
    if (i % perRun === 0) codes.push(clear);
    codes.push(indices[i]);
  }
  codes.push(end);
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const code of codes) {
    buffer |= code << bits;
    bits += width;
    while (bits >= 8) {
      bytes.push(buffer & 0xff);
      buffer >>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) bytes.push(buffer & 0xff);
  const out: number[] = [minCodeSize];
  for (let i = 0; i < bytes.length; i += 255) {
    const block = bytes.slice(i, i + 255);
    out.push(block.length, ...block);
  }
  out.push(0);
  return Buffer.from(out);
}

/** SVG that would set window flags if any of its scripts ran. */
export const SCRIPTED_SVG = Buffer.from(
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="window.__svgRan=1">' +
    '<script>window.__svgRan=1; parent.__svgRan=1;</script><rect width="40" height="40" fill="red"/></svg>\n',
);

/** A PNG with one byte of its image data flipped, so its CRC does not match. */
export function corruptPng(png: Buffer): Buffer {
  const copy = Buffer.from(png);
  const idat = copy.indexOf('IDAT', 8, 'latin1');
  copy[idat + 10] ^= 0xff;
  return copy;
}

/** A JPEG whose header segments are overwritten with junk after the first (APP0) segment. */
export function corruptJpegHeader(jpeg: Buffer): Buffer {
  const copy = Buffer.from(jpeg);
  const app0Length = copy.readUInt16BE(4);
  const from = 4 + app0Length;
  for (let i = from; i < Math.min(copy.length - 2, from + 40); i++) copy[i] = (i * 37) & 0x7f;
  return copy;
}

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium's encoder writes) to RGBA. */
export function decodePng(png: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const buf = Buffer.from(png);
  let at = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (at < buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0 || (data[9] !== 2 && data[9] !== 6))
        throw new Error(`decodePng: unsupported PNG (depth ${data[8]}, type ${data[9]}, interlace ${data[12]})`);
      colorType = data[9];
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const channels = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let value = line[i];
      if (filter === 1) value += a;
      else if (filter === 2) value += b;
      else if (filter === 3) value += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        value += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = value & 0xff;
    }
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) out[(y * width + x) * 4 + c] = cur[x * channels + c];
      out[(y * width + x) * 4 + 3] = channels === 4 ? cur[x * channels + 3] : 255;
    }
    prev.set(cur);
  }
  return { width, height, data: out };
}

/** Mean R, G, B of an RGBA image. */
export function meanRgb(image: { data: Uint8Array }): [number, number, number] {
  const sum = [0, 0, 0];
  const n = image.data.length / 4;
  for (let i = 0; i < image.data.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += image.data[i + c];
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}
