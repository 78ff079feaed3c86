// IEEE 754 binary16 -> binary32 decoding for the pack's weight shards.
//
// A 65536-entry table (256 KB) makes decoding a plain indexed copy. The table is built once from the bit-level
// definition: sign (1 bit), exponent (5 bits, bias 15), mantissa (10 bits).

let table: Float32Array | null = null;

/** Decodes one float16 bit pattern (0..65535) into a number (exactly representable in float32). */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) {
    // Zero (keeping its sign: -0 stays -0) and subnormals: mantissa * 2^-24.
    return sign * mantissa * 2 ** -24;
  }
  if (exponent === 0x1f) {
    return mantissa === 0 ? sign * Infinity : NaN;
  }
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function decodeTable(): Float32Array {
  if (table === null) {
    table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) table[bits] = float16BitsToNumber(bits);
  }
  return table;
}

const littleEndianPlatform = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes `count` little-endian float16 values starting at `byteOffset` of `bytes` into a new Float32Array.
 * Works for any offset alignment and on big-endian platforms (via DataView there).
 */
export function decodeFloat16(
  bytes: Uint8Array,
  byteOffset = 0,
  count = (bytes.byteLength - byteOffset) >> 1,
): Float32Array {
  if (byteOffset < 0 || byteOffset + count * 2 > bytes.byteLength) {
    throw new RangeError(
      `float16 range [${byteOffset}, ${byteOffset + count * 2}) is outside ${bytes.byteLength} bytes`,
    );
  }
  const lookup = decodeTable();
  const out = new Float32Array(count);
  const start = bytes.byteOffset + byteOffset;
  if (littleEndianPlatform && start % 2 === 0) {
    const halves = new Uint16Array(bytes.buffer, start, count);
    for (let i = 0; i < count; i++) out[i] = lookup[halves[i]];
  } else {
    const view = new DataView(bytes.buffer, start, count * 2);
    for (let i = 0; i < count; i++) out[i] = lookup[view.getUint16(i * 2, true)];
  }
  return out;
}
