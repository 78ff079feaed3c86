import { describe, expect, it } from 'vitest';
import { decodeFloat16, float16BitsToNumber } from '../../src/engine/float16';

function bytesOf(...halves: number[]): Uint8Array {
  const bytes = new Uint8Array(halves.length * 2);
  halves.forEach((h, i) => {
    bytes[i * 2] = h & 0xff; // little-endian, as the shards are written
    bytes[i * 2 + 1] = h >> 8;
  });
  return bytes;
}

describe('float16 decoding', () => {
  it('decodes ordinary values', () => {
    expect(Array.from(decodeFloat16(bytesOf(0x3c00, 0xc000, 0x3800, 0x4248, 0x7bff, 0x0400)))).toEqual([
      1,
      -2,
      0.5,
      3.140625,
      65504,
      2 ** -14,
    ]);
    expect(decodeFloat16(bytesOf(0x3555))[0]).toBe(Math.fround(0.333251953125));
  });

  it('decodes subnormals exactly', () => {
    const [smallest, largest, negative] = decodeFloat16(bytesOf(0x0001, 0x03ff, 0x8001));
    expect(smallest).toBe(2 ** -24);
    expect(largest).toBe(1023 * 2 ** -24);
    expect(negative).toBe(-(2 ** -24));
  });

  it('keeps the sign of zero, infinities and NaN', () => {
    const [zero, minusZero, inf, minusInf, nan, nanWithSign] = decodeFloat16(
      bytesOf(0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfe01),
    );
    expect(Object.is(zero, 0)).toBe(true);
    expect(Object.is(minusZero, -0)).toBe(true);
    expect(inf).toBe(Infinity);
    expect(minusInf).toBe(-Infinity);
    expect(nan).toBeNaN();
    expect(nanWithSign).toBeNaN();
  });

  it('agrees with an independent decoding for all 65536 bit patterns', () => {
    const all = new Uint8Array(65536 * 2);
    for (let h = 0; h < 65536; h++) {
      all[h * 2] = h & 0xff;
      all[h * 2 + 1] = h >> 8;
    }
    const decoded = decodeFloat16(all);
    // Independent route: place the half's fields into a float32 bit pattern and reinterpret.
    const bits = new Uint32Array(1);
    const asFloat = new Float32Array(bits.buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = (h & 0x8000) << 16;
      const exponent = (h >> 10) & 0x1f;
      const mantissa = h & 0x3ff;
      let expected: number;
      if (exponent === 0x1f) {
        expected = mantissa ? NaN : sign ? -Infinity : Infinity;
      } else if (exponent === 0) {
        expected = (sign ? -1 : 1) * mantissa * 2 ** -24;
      } else {
        bits[0] = sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
        expected = asFloat[0];
      }
      if (Number.isNaN(expected)) expect(decoded[h]).toBeNaN();
      else expect(Object.is(decoded[h], expected), `0x${h.toString(16)}`).toBe(true);
      expect(Object.is(float16BitsToNumber(h), decoded[h]) || Number.isNaN(expected)).toBe(true);
    }
  });

  it('reads at odd byte offsets and rejects out-of-range reads', () => {
    const padded = new Uint8Array(7);
    padded.set(bytesOf(0x3c00, 0xc400, 0x0001), 1);
    expect(Array.from(decodeFloat16(padded, 1, 3))).toEqual([1, -4, 2 ** -24]);
    expect(() => decodeFloat16(padded, 2, 3)).toThrow(RangeError);
  });
});
