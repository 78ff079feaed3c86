import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url } from '../../src/share/base64url';
import { packMaskBits, unpackMaskBits } from '../../src/share/maskBits';
import {
  DEFAULT_PERMALINK_STATE,
  MAX_HASH_LENGTH,
  checkPermalinkAgainstPack,
  decodePermalink,
  encodePermalink,
  type PermalinkErrorCode,
  type PermalinkState,
} from '../../src/share/permalink';
import { inspectPng } from '../../src/share/pngBytes';
import { makeRgbaPng } from './helpers/png';

const PNG_32 = makeRgbaPng(32, 32, (x, y) => [x * 8, y * 8, (x ^ y) & 255, 255]);

function state(overrides: Partial<PermalinkState> = {}): PermalinkState {
  return { ...DEFAULT_PERMALINK_STATE, packDigest: 'abcdef0123456789'.repeat(4), ...overrides };
}

function maskWithStripe(size: number): Float32Array {
  const mask = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) mask[y * size + x] = x < size / 3 ? 1 : 0;
  return mask;
}

function expectError(hash: string, code: PermalinkErrorCode, field?: string) {
  const result = decodePermalink(hash);
  expect(result.ok, `expected ${code} for ${hash.slice(0, 80)}`).toBe(false);
  if (result.ok) return '';
  expect(result.error.code).toBe(code);
  if (field !== undefined) expect(result.error.field).toBe(field);
  expect(result.error.message).toMatch(/^This link could not be opened: .+\.$/);
  return result.error.message;
}

/** Replaces one key's value inside an encoded hash. */
function withField(hash: string, key: string, value: string): string {
  return hash
    .split('&')
    .map((part) => (part.startsWith(`${key}=`) ? `${key}=${value}` : part))
    .join('&');
}

const DIGEST = 'abcdef0123456789'.repeat(4);
const BASE = encodePermalink(state({ packId: 'cifar10', packDigest: DIGEST }));

describe('base64url', () => {
  it('round-trips every length and every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (let n = 0; n <= 20; n++) {
      const bytes = all.subarray(250 - n * 10 > 0 ? 250 - n * 10 : 0).subarray(0, n);
      expect(decodeBase64Url(encodeBase64Url(bytes))).toEqual(bytes);
    }
    expect(decodeBase64Url(encodeBase64Url(all))).toEqual(all);
  });
  it('matches Node for the URL alphabet', () => {
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 97 + 13) & 255);
    expect(encodeBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
  });
  it('rejects characters outside the alphabet, impossible lengths and stray bits', () => {
    expect(decodeBase64Url('ab+d')).toBe('bad-character');
    expect(decodeBase64Url('ab/d')).toBe('bad-character');
    expect(decodeBase64Url('abc=')).toBe('bad-character');
    expect(decodeBase64Url('ab cd')).toBe('bad-character');
    expect(decodeBase64Url('abcdé')).toBe('bad-character');
    expect(decodeBase64Url('abcde')).toBe('bad-length');
    expect(decodeBase64Url('AB')).toBe('non-canonical'); // 'AA' is the canonical encoding of 0x00
    expect(decodeBase64Url('AA')).toEqual(Uint8Array.of(0));
  });
});

describe('mask bits', () => {
  it('packs 1 bit per pixel, most significant bit first, and unpacks exactly', () => {
    const mask = Float32Array.of(1, 0, 0, 0, 0, 0, 0, 1, 1);
    const bits = packMaskBits(mask);
    expect(Array.from(bits)).toEqual([0b10000001, 0b10000000]);
    expect(Array.from(unpackMaskBits(bits, 9))).toEqual(Array.from(mask));
  });
  it('thresholds soft values at 0.5', () => {
    expect(Array.from(packMaskBits(Float32Array.of(0.49, 0.5, 0.9, 0.1)))).toEqual([0b01100000]);
  });
});

describe('PNG inspection', () => {
  it('reads the header of a valid PNG', () => {
    const result = inspectPng(PNG_32);
    expect(result).toEqual({ ok: true, header: { width: 32, height: 32, bitDepth: 8, colorType: 6 } });
  });
  it('rejects bytes that are not PNG, cut PNGs, flipped bits and trailing junk', () => {
    expect(inspectPng(new TextEncoder().encode('GIF89a....'))).toMatchObject({ ok: false, problem: 'not-png' });
    expect(inspectPng(PNG_32.subarray(0, PNG_32.length - 5))).toMatchObject({ ok: false, problem: 'truncated' });
    const flipped = PNG_32.slice();
    flipped[40] ^= 1;
    expect(inspectPng(flipped)).toMatchObject({ ok: false, problem: 'corrupt' });
    const junk = new Uint8Array(PNG_32.length + 1);
    junk.set(PNG_32);
    expect(inspectPng(junk)).toMatchObject({ ok: false, problem: 'corrupt' });
  });
});

describe('permalink round trip', () => {
  it('an empty hash gives the defaults', () => {
    expect(decodePermalink('')).toEqual({ ok: true, state: { ...DEFAULT_PERMALINK_STATE } });
    expect(decodePermalink('#')).toEqual({ ok: true, state: { ...DEFAULT_PERMALINK_STATE } });
  });

  it('round-trips every scalar field at its extremes', () => {
    const cases: Partial<PermalinkState>[] = [
      { mode: 'lag', level: 0, compare: true, seed: 0, samples: 1, classIndex: 0, lagAmplitude: 0, lagCandidates: 1 },
      {
        mode: 'sp',
        level: 6,
        compare: false,
        seed: 0xffffffff,
        samples: 16,
        classIndex: 9,
        lagAmplitude: 1,
        lagCandidates: 16,
      },
      { packId: 'my-pack_2.v1', packDigest: '0123456789abcdef'.repeat(4), classIndex: null, lagAmplitude: 0.125 },
    ];
    for (const overrides of cases) {
      const original = state(overrides);
      const hash = encodePermalink(original);
      expect(decodePermalink(`#${hash}`)).toEqual({ ok: true, state: original });
    }
  });

  it('round-trips the image bytes and the painted mask exactly', () => {
    const mask = maskWithStripe(32);
    const original = state({ imagePng: PNG_32, mask });
    const hash = encodePermalink(original);
    const result = decodePermalink(hash, { expectedImageSize: 32 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.state.imagePng).toEqual(PNG_32);
    expect(result.state.mask).toEqual(mask);
  });

  it('writes the version first and leaves out the mask when there is no image', () => {
    const hash = encodePermalink(state({ mask: maskWithStripe(32) }));
    expect(hash.startsWith('v=1&')).toBe(true);
    expect(hash).not.toContain('mask=');
    expect(hash).not.toContain('img=');
  });

  it('rounds the noise amplitude to 3 decimals', () => {
    const result = decodePermalink(encodePermalink(state({ lagAmplitude: 0.123456 })));
    expect(result.ok && result.state.lagAmplitude).toBe(0.123);
  });

  it('accepts hand-written links with only some fields, filling in defaults', () => {
    const result = decodePermalink(`#v=1&level=5&cmp=1&digest=${DIGEST}`);
    expect(result).toEqual({
      ok: true,
      state: { ...DEFAULT_PERMALINK_STATE, packDigest: DIGEST, level: 5, compare: true },
    });
  });

  it('refuses to encode values the schema would refuse to decode', () => {
    expect(() => encodePermalink(state({ level: 7 }))).toThrow(/level/);
    expect(() => encodePermalink(state({ packId: '<b>' }))).toThrow(/pack id/);
  });
});

describe('permalink rejections', () => {
  it('hashes over the size limit', () => {
    expectError(`#v=1&img=${'A'.repeat(MAX_HASH_LENGTH)}`, 'too-large');
  });

  it('parts that are not key=value', () => {
    expectError('#v=1&level', 'malformed');
    expectError('#v=1&=3', 'malformed');
    expectError('#v=1&&level=2', 'malformed');
  });

  it('unknown and duplicated fields', () => {
    expectError(`${BASE}&colour=red`, 'unknown-field');
    expectError(`${BASE}&seed=5`, 'duplicate-field', 'seed');
  });

  it('missing or unknown schema versions', () => {
    expectError('#level=2', 'missing-version', 'v');
    expectError(withField(BASE, 'v', '2'), 'unknown-version', 'v');
    expectError(withField(BASE, 'v', '0'), 'unknown-version', 'v');
    expectError(withField(BASE, 'v', 'one'), 'unknown-version', 'v');
  });

  it.each([
    ['level', '7', 'out-of-range'],
    ['level', '-1', 'out-of-range'],
    ['level', '2.5', 'not-a-number'],
    ['level', 'NaN', 'not-a-number'],
    ['level', '', 'not-a-number'],
    ['level', '0x2', 'not-a-number'],
    ['level', '1e0', 'not-a-number'],
    ['level', ' 2', 'not-a-number'],
    ['seed', '4294967296', 'out-of-range'],
    ['seed', '-5', 'out-of-range'],
    ['seed', '99999999999999999999999', 'out-of-range'],
    ['seed', 'Infinity', 'not-a-number'],
    ['seed', '1.5', 'not-a-number'],
    ['n', '0', 'out-of-range'],
    ['n', '17', 'out-of-range'],
    ['k', '0', 'out-of-range'],
    ['k', '17', 'out-of-range'],
    ['noise', '1.01', 'out-of-range'],
    ['noise', '-0.1', 'out-of-range'],
    ['noise', 'NaN', 'not-a-number'],
    ['noise', '.5', 'not-a-number'],
    ['noise', '1e-3', 'not-a-number'],
    ['class', '-1', 'not-a-number'],
    ['class', 'cat', 'not-a-number'],
    ['class', '10000', 'out-of-range'],
    ['class', '123456789012345678901234567890', 'out-of-range'],
    ['cmp', '2', 'bad-choice'],
    ['cmp', 'true', 'bad-choice'],
    ['mode', 'gan', 'bad-choice'],
    ['mode', 'SP', 'bad-choice'],
  ] as const)('field %s = %j gives %s', (key, value, code) => {
    const message = expectError(withField(BASE, key, value), code, key);
    expect(message.length).toBeLessThan(200);
  });

  it('strings with HTML or other disallowed characters, without echoing markup', () => {
    for (const pack of ['<script>alert(1)</script>', '%3Cimg%20src%3Dx%3E', 'Cifar10', '../etc', 'a"b', '']) {
      const message = expectError(withField(BASE, 'pack', pack), 'bad-text', 'pack');
      expect(message).not.toMatch(/<script>alert\(1\)<\/script>/);
    }
    expectError(withField(BASE, 'pack', 'a'.repeat(65)), 'bad-text', 'pack');
    expectError(withField(BASE, 'digest', '<b>x</b>'), 'bad-text', 'digest');
    expectError(withField(BASE, 'digest', 'ABCDEF'), 'bad-text', 'digest');
  });

  it('a pack digest that is missing, empty, short, too long or not lower-case hex', () => {
    expect(expectError(BASE.replace(`&digest=${DIGEST}`, ''), 'missing-digest', 'digest')).toMatch(/no digest=/);
    expect(expectError(withField(BASE, 'digest', ''), 'bad-digest', 'digest')).toMatch(
      /pack digest is empty; a link carries all 64/,
    );
    expect(expectError(withField(BASE, 'digest', 'a'), 'bad-digest', 'digest')).toMatch(/has 1 hex digits/);
    expectError(withField(BASE, 'digest', DIGEST.slice(0, 16)), 'bad-digest', 'digest');
    expectError(withField(BASE, 'digest', DIGEST.slice(0, 63)), 'bad-digest', 'digest');
    expectError(withField(BASE, 'digest', `${DIGEST}0`), 'bad-digest', 'digest');
    expectError(withField(BASE, 'digest', DIGEST.toUpperCase()), 'bad-text', 'digest');
    expectError(withField(BASE, 'digest', `${DIGEST.slice(0, 63)}g`), 'bad-text', 'digest');
    // A link that is broken elsewhere reports that problem, not the missing digest.
    expectError('#v=1&level=9', 'out-of-range', 'level');
  });

  it('refuses to encode a state without the full digest', () => {
    expect(() => encodePermalink(state({ packDigest: '' }))).toThrow(/pack digest/);
    expect(() => encodePermalink(state({ packDigest: DIGEST.slice(0, 16) }))).toThrow(/pack digest/);
  });

  it('images that are not base64url', () => {
    expectError(`${BASE}&img=iVBOR+w0KGgo`, 'not-base64', 'img');
    expectError(`${BASE}&img=iVBOR%3D`, 'not-base64', 'img');
  });

  it('images that are not PNG', () => {
    const gif = encodeBase64Url(new TextEncoder().encode('GIF89a not really a gif at all'));
    expectError(`${BASE}&img=${gif}`, 'not-png', 'img');
    expectError(`${BASE}&img=`, 'not-png', 'img');
  });

  it('truncated images (cut at any point)', () => {
    const full = encodeBase64Url(PNG_32);
    for (const cut of [full.length - 1, full.length - 3, full.length - 20, Math.floor(full.length / 2), 13]) {
      const result = decodePermalink(`${BASE}&img=${full.slice(0, cut)}`);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(['truncated', 'not-base64']).toContain(result.error.code);
    }
    // A cut on a whole-byte boundary is valid base64 and must be caught by the PNG walk.
    expectError(`${BASE}&img=${encodeBase64Url(PNG_32.subarray(0, PNG_32.length - 12))}`, 'truncated', 'img');
  });

  it('tampered image bytes', () => {
    const tampered = PNG_32.slice();
    tampered[60] ^= 0xff;
    expectError(`${BASE}&img=${encodeBase64Url(tampered)}`, 'corrupt-png', 'img');
  });

  it('images of the wrong size', () => {
    expectError(`${BASE}&img=${encodeBase64Url(makeRgbaPng(32, 16))}`, 'wrong-image-size', 'img');
    expectError(`${BASE}&img=${encodeBase64Url(makeRgbaPng(600, 600))}`, 'wrong-image-size', 'img');
    const hash = `${BASE}&img=${encodeBase64Url(makeRgbaPng(64, 64))}`;
    const result = decodePermalink(hash, { expectedImageSize: 32 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ code: 'wrong-image-size', field: 'img' });
    expect(decodePermalink(hash, { expectedImageSize: 64 }).ok).toBe(true);
  });

  it('masks without an image, cut short, too long or with stray padding bits', () => {
    const img = encodeBase64Url(PNG_32);
    const bits = packMaskBits(maskWithStripe(32)); // 128 bytes
    expectError(`${BASE}&mask=${encodeBase64Url(bits)}`, 'mask-without-image', 'mask');
    expectError(`${BASE}&mask=${encodeBase64Url(bits.subarray(0, 100))}&img=${img}`, 'truncated', 'mask');
    const longer = new Uint8Array(bits.length + 1);
    longer.set(bits);
    expectError(`${BASE}&mask=${encodeBase64Url(longer)}&img=${img}`, 'bad-mask', 'mask');
    expectError(`${BASE}&mask=@@@@&img=${img}`, 'not-base64', 'mask');
    // 3x3 image: 9 pixels in 2 bytes, the last 7 bits must be zero.
    const png3 = encodeBase64Url(makeRgbaPng(3, 3));
    expectError(`${BASE}&mask=${encodeBase64Url(Uint8Array.of(0xff, 0x81))}&img=${png3}`, 'bad-mask', 'mask');
    expect(decodePermalink(`${BASE}&mask=${encodeBase64Url(Uint8Array.of(0xff, 0x80))}&img=${png3}`).ok).toBe(true);
  });
});

describe('checks against the loaded pack', () => {
  const pack = { id: 'cifar10', digest: DIGEST, imageSize: 32, classCount: 10 };

  it('accepts a link made with the same pack', () => {
    expect(checkPermalinkAgainstPack(state({ packId: 'cifar10', packDigest: DIGEST, imagePng: PNG_32 }), pack)).toEqual(
      { errors: [], warnings: [] },
    );
  });

  it('warns (but does not refuse) when the digest differs, even in its last digit', () => {
    for (const other of ['1'.repeat(64), `${DIGEST.slice(0, 63)}0`, '']) {
      const result = checkPermalinkAgainstPack(state({ packId: 'cifar10', packDigest: other }), pack);
      expect(result.errors).toEqual([]);
      expect(result.warnings).toHaveLength(1);
      expect(result.warnings[0]).toMatch(/different weights/);
    }
  });

  it('warns when the pack id is not the one that runs', () => {
    const result = checkPermalinkAgainstPack(state({ packId: 'imagenet' }), pack);
    expect(result.warnings[0]).toMatch(/imagenet/);
  });

  it('reports a class that the pack does not have and an image of the wrong size', () => {
    const result = checkPermalinkAgainstPack(
      state({ packId: 'cifar10', classIndex: 10, imagePng: makeRgbaPng(64, 64) }),
      pack,
    );
    expect(result.errors.map((e) => e.code)).toEqual(['out-of-range', 'wrong-image-size']);
  });
});
