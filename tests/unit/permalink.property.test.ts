// Property-based tests of the permalink codec (fast-check): generated states and generated damage to links, so the
// decoder is exercised on inputs nobody wrote down. They call the unguarded decoder: decodePermalink's catch-all
// would turn a crash into a polite message and hide it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url } from '../../src/share/base64url';
import {
  DEFAULT_PERMALINK_STATE,
  MAX_CLASS_INDEX,
  MAX_LAG_CANDIDATES,
  MAX_SAMPLES,
  decodePermalinkUnguarded,
  encodePermalink,
  type DecodeResult,
  type PermalinkState,
} from '../../src/share/permalink';
import { MAX_INTERP_FRAMES, MIN_INTERP_FRAMES } from '../../src/engine/interpolation';
import { inspectPng } from '../../src/share/pngBytes';
import { makeRgbaPng } from './helpers/png';

const RUNS = { numRuns: 300 };

const pixelArb = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));

/** A real PNG of a small random size with random pixels, and optionally a painted 0/1 mask of the same size. */
const imageArb = fc.integer({ min: 1, max: 6 }).chain((size) =>
  fc.record({
    png: fc
      .array(pixelArb, { minLength: size * size, maxLength: size * size })
      .map((pixels) => makeRgbaPng(size, size, (x, y) => pixels[y * size + x])),
    mask: fc.option(
      fc
        .array(fc.constantFrom(0, 1), { minLength: size * size, maxLength: size * size })
        .map((bits) => Float32Array.from(bits)),
      { nil: null },
    ),
  }),
);

const stateArb: fc.Arbitrary<PermalinkState> = fc
  .record({
    packId: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    packDigest: fc.stringMatching(/^[0-9a-f]{64}$/),
    mode: fc.constantFrom('sp' as const, 'lag' as const),
    level: fc.integer({ min: 0, max: 6 }),
    compare: fc.boolean(),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
    samples: fc.integer({ min: 1, max: MAX_SAMPLES }),
    classIndex: fc.option(fc.integer({ min: 0, max: MAX_CLASS_INDEX }), { nil: null }),
    // The link keeps 3 decimals, so a valid amplitude is a whole number of thousandths.
    lagAmplitude: fc.integer({ min: 0, max: 1000 }).map((k) => k / 1000),
    lagCandidates: fc.integer({ min: 1, max: MAX_LAG_CANDIDATES }),
    interpolate: fc.boolean(),
    seedB: fc.integer({ min: 0, max: 0xffffffff }),
    classB: fc.option(fc.integer({ min: 0, max: MAX_CLASS_INDEX }), { nil: null }),
    interpFrames: fc.integer({ min: MIN_INTERP_FRAMES, max: MAX_INTERP_FRAMES }),
    image: fc.option(imageArb, { nil: null }),
  })
  .map(({ image, ...scalars }) => ({ ...scalars, imagePng: image?.png ?? null, mask: image?.mask ?? null }));

/** Everything a decoded state must satisfy for the app to use it. */
function expectUsableState(state: PermalinkState): void {
  // The encoder re-checks every scalar against the field table and throws on anything out of bounds.
  const again = encodePermalink(state);
  expect(decodePermalinkUnguarded(again)).toEqual({ ok: true, state });
  if (state.imagePng) {
    const png = inspectPng(state.imagePng);
    expect(png.ok).toBe(true);
    if (png.ok && state.mask) expect(state.mask.length).toBe(png.header.width * png.header.height);
  } else {
    expect(state.mask).toBeNull();
  }
  if (state.mask) expect(state.mask.every((v) => v === 0 || v === 1)).toBe(true);
}

function expectRejectedOrUsable(link: string): void {
  const result: DecodeResult = decodePermalinkUnguarded(link);
  // An empty hash is no link at all: the playground's defaults.
  if (link === '' || link === '#') return void expect(result).toEqual({ ok: true, state: DEFAULT_PERMALINK_STATE });
  if (result.ok) return expectUsableState(result.state);
  expect(result.error.message).toMatch(/^This link could not be opened: .{10,}\.$/s);
  expect(typeof result.error.code).toBe('string');
}

/** Damage done to a link: one character changed, removed or inserted, a cut, or a part repeated. */
const damageArb = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    char: fc.oneof(
      fc.string({ minLength: 1, maxLength: 1 }),
      fc.constantFrom('&', '=', '#', '%', '-', '_', '0', 'A', '\u0000', 'é', '\ud83d'),
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), char: fc.constant('') }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), char: fc.string({ minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), char: fc.constant('') }),
  fc.record({ kind: fc.constant('repeat-part' as const), at: fc.nat(), char: fc.constant('') }),
);

function damage(link: string, { kind, at, char }: { kind: string; at: number; char: string }): string {
  const i = at % (link.length + 1);
  switch (kind) {
    case 'replace':
      return link.slice(0, i) + char + link.slice(i + 1);
    case 'delete':
      return link.slice(0, i) + link.slice(i + 1);
    case 'insert':
      return link.slice(0, i) + char + link.slice(i);
    case 'truncate':
      return link.slice(0, i);
    default: {
      const parts = link.split('&');
      return [...parts, parts[at % parts.length]].join('&');
    }
  }
}

describe('permalink properties', () => {
  it('every valid state round-trips through the link exactly', () => {
    fc.assert(
      fc.property(stateArb, (state) => {
        const link = encodePermalink(state);
        expect(decodePermalinkUnguarded(`#${link}`)).toEqual({ ok: true, state });
      }),
      RUNS,
    );
  });

  it('a damaged link is rejected with a message or decodes to a usable state, and never throws', () => {
    fc.assert(
      fc.property(stateArb, fc.array(damageArb, { minLength: 1, maxLength: 3 }), (state, damages) => {
        const link = damages.reduce(damage, encodePermalink(state));
        expectRejectedOrUsable(link);
      }),
      { numRuns: 1000 },
    );
  });

  it('a link cut at any point is rejected with a message or decodes to a usable state', () => {
    fc.assert(
      fc.property(stateArb, fc.nat(), (state, at) => {
        const link = encodePermalink(state);
        expectRejectedOrUsable(link.slice(0, at % (link.length + 1)));
      }),
      RUNS,
    );
  });

  it('any text at all is rejected with a message or decodes to a usable state', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => expectRejectedOrUsable(text)),
      RUNS,
    );
  });

  it('a PNG with a broken CRC is never accepted, on its own or inside a link', () => {
    fc.assert(
      fc.property(
        stateArb,
        imageArb,
        fc.nat(),
        fc.integer({ min: 1, max: 0xffffffff }),
        (state, image, chunkPick, xor) => {
          const png = image.png.slice();
          // Walk to the chosen chunk and spoil its CRC (any non-zero change of the 4 bytes).
          const chunkEnds: number[] = [];
          for (let at = 8; at < png.length;) {
            const length = new DataView(png.buffer).getUint32(at);
            at += 12 + length;
            chunkEnds.push(at);
          }
          const crcAt = chunkEnds[chunkPick % chunkEnds.length] - 4;
          const view = new DataView(png.buffer);
          view.setUint32(crcAt, (view.getUint32(crcAt) ^ xor) >>> 0);
          expect(inspectPng(png)).toMatchObject({ ok: false, problem: 'corrupt' });
          const result = decodePermalinkUnguarded(
            encodePermalink({ ...state, imagePng: image.png, mask: null }).replace(
              /img=.*$/,
              `img=${encodeBase64Url(png)}`,
            ),
          );
          expect(result).toMatchObject({ ok: false, error: { code: 'corrupt-png', field: 'img' } });
        },
      ),
      RUNS,
    );
  });

  it('a PNG with any one bit flipped after its signature is never accepted', () => {
    fc.assert(
      fc.property(imageArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (image, pick, bit) => {
        const png = image.png.slice();
        png[8 + (pick % (png.length - 8))] ^= 1 << bit;
        expect(inspectPng(png).ok).toBe(false);
      }),
      RUNS,
    );
  });

  it('the image bytes survive base64url exactly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(decodeBase64Url(encodeBase64Url(bytes))).toEqual(bytes);
      }),
      RUNS,
    );
  });
});
