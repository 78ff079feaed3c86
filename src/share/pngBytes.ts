// Structural PNG validation on raw bytes (no decompression, no canvas): enough to refuse anything that is not a
// complete, uncorrupted PNG before it ever reaches an image decoder. The pixel decoding happens in the browser.

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

let crcTable: Uint32Array | null = null;
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export type PngProblem = 'not-png' | 'truncated' | 'corrupt';

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

const VALID_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16], // greyscale
  2: [8, 16], // RGB
  3: [1, 2, 4, 8], // palette
  4: [8, 16], // grey + alpha
  6: [8, 16], // RGBA
};

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** Walks every chunk, checks lengths and CRCs, and requires IHDR first, at least one IDAT and IEND last. */
export function inspectPng(
  bytes: Uint8Array,
): { ok: true; header: PngHeader } | { ok: false; problem: PngProblem; detail: string } {
  if (bytes.length < PNG_SIGNATURE.length || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    return { ok: false, problem: 'not-png', detail: 'the data does not start with the PNG signature' };
  }
  let at = PNG_SIGNATURE.length;
  let header: PngHeader | null = null;
  let sawData = false;
  let chunkIndex = 0;
  while (true) {
    if (at + 12 > bytes.length)
      return { ok: false, problem: 'truncated', detail: 'the PNG ends before its IEND chunk' };
    const length = readUint32(bytes, at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    const dataStart = at + 8;
    const dataEnd = dataStart + length;
    if (length > 0x7fffffff || dataEnd + 4 > bytes.length) {
      return { ok: false, problem: 'truncated', detail: `the ${type} chunk runs past the end of the data` };
    }
    if (!/^[A-Za-z]{4}$/.test(type)) return { ok: false, problem: 'corrupt', detail: 'a chunk has an invalid type' };
    if (crc32(bytes, at + 4, dataEnd) !== readUint32(bytes, dataEnd)) {
      return { ok: false, problem: 'corrupt', detail: `the ${type} chunk fails its checksum` };
    }
    if (chunkIndex === 0) {
      if (type !== 'IHDR' || length !== 13)
        return { ok: false, problem: 'corrupt', detail: 'the PNG does not start with a valid IHDR chunk' };
      const width = readUint32(bytes, dataStart);
      const height = readUint32(bytes, dataStart + 4);
      const bitDepth = bytes[dataStart + 8];
      const colorType = bytes[dataStart + 9];
      if (width === 0 || height === 0) return { ok: false, problem: 'corrupt', detail: 'the PNG has a zero size' };
      if (!VALID_DEPTHS[colorType]?.includes(bitDepth))
        return { ok: false, problem: 'corrupt', detail: 'the PNG has an invalid pixel format' };
      header = { width, height, bitDepth, colorType };
    } else if (type === 'IHDR') {
      return { ok: false, problem: 'corrupt', detail: 'the PNG has two IHDR chunks' };
    }
    if (type === 'IDAT') sawData = true;
    at = dataEnd + 4;
    chunkIndex++;
    if (type === 'IEND') {
      if (!sawData || !header) return { ok: false, problem: 'corrupt', detail: 'the PNG has no image data' };
      if (at !== bytes.length) return { ok: false, problem: 'corrupt', detail: 'there are extra bytes after the PNG' };
      return { ok: true, header };
    }
  }
}
