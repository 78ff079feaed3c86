// The paper's other uses, the parts that run without a browser: the interpolation fields of the permalink (old
// links still open), the animated GIF export.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PERMALINK_STATE,
  checkPermalinkAgainstPack,
  decodePermalink,
  encodePermalink,
} from '../../src/share/permalink';
import { encodeAnimationGif, pingPongOrder } from '../../src/ui/components/InterpolationExport';
import type { RgbaImage } from '../../src/engine/protocol';

const DIGEST = 'a'.repeat(64);

describe('interpolation in the permalink', () => {
  it('a link without the interpolation fields opens with interpolation off and the defaults', () => {
    const result = decodePermalink(`v=1&pack=cifar10&digest=${DIGEST}&mode=sp&level=3&seed=9`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.state).toMatchObject({
      level: 3,
      seed: 9,
      interpolate: false,
      seedB: 2,
      classB: null,
      interpFrames: 8,
    });
  });

  it('endpoints and frame count round-trip', () => {
    const state = {
      ...DEFAULT_PERMALINK_STATE,
      packDigest: DIGEST,
      interpolate: true,
      seed: 4,
      seedB: 4000000000,
      classB: 7,
      interpFrames: 12,
    };
    const hash = encodePermalink(state);
    expect(hash).toContain('interp=1');
    const result = decodePermalink(hash);
    expect(result.ok && result.state).toMatchObject({
      interpolate: true,
      seed: 4,
      seedB: 4000000000,
      classB: 7,
      interpFrames: 12,
    });
  });

  it('refuses a frame count outside 2..16 and a bad second seed, naming the field', () => {
    for (const [hash, field] of [
      ['v=1&frames=1', 'frames'],
      ['v=1&frames=17', 'frames'],
      ['v=1&seed2=-3', 'seed2'],
      ['v=1&class2=x', 'class2'],
      ['v=1&interp=2', 'interp'],
    ]) {
      const result = decodePermalink(hash);
      expect(result.ok, hash).toBe(false);
      if (!result.ok) expect(result.error.field).toBe(field);
    }
  });

  it('a second class the pack lacks is reported against the pack', () => {
    const state = { ...DEFAULT_PERMALINK_STATE, classB: 12 };
    const check = checkPermalinkAgainstPack(state, { id: 'cifar10', digest: '', imageSize: 32, classCount: 10 });
    expect(check.errors.map((e) => e.field)).toEqual(['class2']);
  });
});

describe('animated GIF export', () => {
  const frame = (value: number): RgbaImage => ({
    width: 4,
    height: 4,
    data: new Uint8ClampedArray(64).map((_, i) => ((i & 3) === 3 ? 255 : value)),
  });

  it('plays forth and back without repeating the ends', () => {
    expect(pingPongOrder(4)).toEqual([0, 1, 2, 3, 2, 1]);
    expect(pingPongOrder(2)).toEqual([0, 1]);
  });

  it('writes a looping GIF89a with one image per shown frame at the enlarged size', () => {
    const bytes = encodeAnimationGif([frame(0), frame(120), frame(250)], { scale: 2, delayMs: 100 });
    const text = new TextDecoder('latin1').decode(bytes);
    expect(text.slice(0, 6)).toBe('GIF89a');
    expect(bytes[6] | (bytes[7] << 8)).toBe(8); // logical screen width
    expect(text).toContain('NETSCAPE2.0');
    // Graphic control extensions (0x21 0xF9 0x04): one per frame of the ping-pong loop (0, 1, 2, 1).
    let controls = 0;
    for (let i = 0; i + 2 < bytes.length; i++)
      if (bytes[i] === 0x21 && bytes[i + 1] === 0xf9 && bytes[i + 2] === 0x04) controls++;
    expect(controls).toBe(4);
    expect(bytes[bytes.length - 1]).toBe(0x3b); // trailer
  });

  it('refuses no frames with a message', () => {
    expect(() => encodeAnimationGif([], { scale: 1, delayMs: 100 })).toThrow(/no frames/);
  });
});
