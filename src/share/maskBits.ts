// A painted mask travels in links as 1 bit per pixel, row-major, most significant bit first.

export function packMaskBits(mask: Float32Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(mask.length / 8));
  for (let i = 0; i < mask.length; i++) if (mask[i] >= 0.5) out[i >> 3] |= 0x80 >> (i & 7);
  return out;
}

export function unpackMaskBits(bits: Uint8Array, pixelCount: number): Float32Array {
  const out = new Float32Array(pixelCount);
  for (let i = 0; i < pixelCount; i++) out[i] = bits[i >> 3] & (0x80 >> (i & 7)) ? 1 : 0;
  return out;
}

/** Bits after the last pixel must be zero so that every mask has exactly one encoding. */
export function hasOnlyZeroPadding(bits: Uint8Array, pixelCount: number): boolean {
  for (let i = pixelCount; i < bits.length * 8; i++) if (bits[i >> 3] & (0x80 >> (i & 7))) return false;
  return true;
}
