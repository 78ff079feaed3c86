// The permalink: every piece of playground state in the URL hash, through ONE versioned, declared schema.
// Like TF Playground's state.ts, each field is declared once (key, type, range, default) and both the encoder and
// the validating decoder are driven by that table. This module is pure (no DOM): images travel as PNG bytes and
// the canvas work (decoding them, encoding the source) lives in src/ui/imageIO.ts.

import { decodeBase64Url, encodeBase64Url } from './base64url';
import { hasOnlyZeroPadding, packMaskBits, unpackMaskBits } from './maskBits';
import { LEVEL_COUNT } from '../engine/levels';
import { MAX_INTERP_FRAMES, MIN_INTERP_FRAMES } from '../engine/interpolation';
import { MAX_LAG_CANDIDATES, MAX_SAMPLES } from '../engine/requestChecks';
import { inspectPng } from './pngBytes';

export const PERMALINK_VERSION = 1;
/** Hashes longer than this are refused before any parsing (a 224 px PNG is well under it). */
export const MAX_HASH_LENGTH = 256 * 1024;
/** Largest model-resolution image a link may carry. */
export const MAX_LINK_IMAGE_SIZE = 512;
/**
 * Links carry the whole pack digest (sha256, lower-case hex): a prefix would let a link with a short or empty digest
 * match any pack and hide that its samples came from other weights.
 */
export const PACK_DIGEST_LENGTH = 64;
export const MAX_CLASS_INDEX = 9999;

export { MAX_LAG_CANDIDATES, MAX_SAMPLES };

/** Seeds are unsigned 32-bit integers (src/engine/noise.ts hashes them as uint32). */
export const MAX_SEED = 0xffffffff;

export type Mode = 'sp' | 'lag';

export interface PermalinkState {
  packId: string;
  /** The digest of the pack the link was made with (64 hex digits; '' only in the defaults, which are no link). */
  packDigest: string;
  mode: Mode;
  level: number;
  compare: boolean;
  seed: number;
  samples: number;
  /** null: use the classifier's prediction. */
  classIndex: number | null;
  lagAmplitude: number;
  lagCandidates: number;
  /** Interpolation shown: frames from (seed, class) to (seedB, classB) at the level, or between two LAG noise draws. */
  interpolate: boolean;
  seedB: number;
  /** null: the same class as the first endpoint. */
  classB: number | null;
  interpFrames: number;
  /** Painted mask, imageSize^2 values in {0, 1}; only allowed together with an image. */
  mask: Float32Array | null;
  /** The input image at model resolution, as lossless PNG bytes. */
  imagePng: Uint8Array | null;
}

export const DEFAULT_PERMALINK_STATE: Readonly<PermalinkState> = Object.freeze({
  packId: 'cifar10',
  packDigest: '',
  mode: 'sp',
  level: 2,
  compare: false,
  seed: 1,
  samples: 6,
  classIndex: null,
  lagAmplitude: 0.5,
  lagCandidates: 8,
  interpolate: false,
  seedB: 2,
  classB: null,
  interpFrames: 8,
  mask: null,
  imagePng: null,
});

export type PermalinkErrorCode =
  | 'too-large'
  | 'malformed'
  | 'missing-version'
  | 'unknown-version'
  | 'unknown-field'
  | 'duplicate-field'
  | 'not-a-number'
  | 'out-of-range'
  | 'bad-choice'
  | 'bad-text'
  | 'bad-digest'
  | 'missing-digest'
  | 'not-base64'
  | 'truncated'
  | 'not-png'
  | 'corrupt-png'
  | 'wrong-image-size'
  | 'mask-without-image'
  | 'bad-mask';

export interface PermalinkError {
  code: PermalinkErrorCode;
  /** The hash key at fault, when there is one. */
  field?: string;
  /** A sentence for people: what is wrong and that the link was not applied. */
  message: string;
}

export type DecodeResult = { ok: true; state: PermalinkState } | { ok: false; error: PermalinkError };

// ---------------------------------------------------------------------------------------------------------------
// The declared schema

type StateKey = Exclude<keyof PermalinkState, 'mask' | 'imagePng'>;

type FieldSpec =
  | { key: string; prop: StateKey; label: string; kind: 'int'; min: number; max: number }
  | { key: string; prop: StateKey; label: string; kind: 'float'; min: number; max: number; decimals: number }
  | { key: string; prop: StateKey; label: string; kind: 'bool' }
  | { key: string; prop: StateKey; label: string; kind: 'choice'; choices: readonly string[] }
  | { key: string; prop: StateKey; label: string; kind: 'text'; pattern: RegExp; maxLength: number; allowed: string }
  | { key: string; prop: StateKey; label: string; kind: 'class' }
  | { key: string; prop: StateKey; label: string; kind: 'digest' };

/** Scalar fields, in the order they are written. `v` comes first and the binary fields (mask, img) last. */
export const PERMALINK_FIELDS: readonly FieldSpec[] = [
  {
    key: 'pack',
    prop: 'packId',
    label: 'pack id',
    kind: 'text',
    pattern: /^[a-z0-9][a-z0-9._-]*$/,
    maxLength: 64,
    allowed: 'lower-case letters, digits, ".", "_" and "-"',
  },
  { key: 'digest', prop: 'packDigest', label: 'pack digest', kind: 'digest' },
  { key: 'mode', prop: 'mode', label: 'mode', kind: 'choice', choices: ['sp', 'lag'] },
  { key: 'level', prop: 'level', label: 'level', kind: 'int', min: 0, max: LEVEL_COUNT - 1 },
  { key: 'cmp', prop: 'compare', label: 'compare switch', kind: 'bool' },
  { key: 'seed', prop: 'seed', label: 'seed', kind: 'int', min: 0, max: MAX_SEED },
  { key: 'n', prop: 'samples', label: 'samples per level', kind: 'int', min: 1, max: MAX_SAMPLES },
  { key: 'class', prop: 'classIndex', label: 'class', kind: 'class' },
  { key: 'noise', prop: 'lagAmplitude', label: 'LAG noise amplitude', kind: 'float', min: 0, max: 1, decimals: 3 },
  { key: 'k', prop: 'lagCandidates', label: 'LAG candidate count', kind: 'int', min: 1, max: MAX_LAG_CANDIDATES },
  // Interpolation (links without these fields open with it off and the defaults).
  { key: 'interp', prop: 'interpolate', label: 'interpolation switch', kind: 'bool' },
  { key: 'seed2', prop: 'seedB', label: 'second seed', kind: 'int', min: 0, max: MAX_SEED },
  { key: 'class2', prop: 'classB', label: 'second class', kind: 'class' },
  {
    key: 'frames',
    prop: 'interpFrames',
    label: 'interpolation frame count',
    kind: 'int',
    min: MIN_INTERP_FRAMES,
    max: MAX_INTERP_FRAMES,
  },
];
const VERSION_KEY = 'v';
const MASK_KEY = 'mask';
const IMAGE_KEY = 'img';
const KNOWN_KEYS = new Set([VERSION_KEY, ...PERMALINK_FIELDS.map((f) => f.key), MASK_KEY, IMAGE_KEY]);

// ---------------------------------------------------------------------------------------------------------------
// Encoding

function encodeScalar(spec: FieldSpec, value: unknown): string {
  switch (spec.kind) {
    case 'int':
      return String(value);
    case 'float':
      return String(Number((value as number).toFixed(spec.decimals)));
    case 'bool':
      return value ? '1' : '0';
    case 'choice':
    case 'text':
    case 'digest':
      return String(value);
    case 'class':
      return value === null ? 'auto' : String(value);
  }
}

/** Builds the hash (without '#'). Throws only on programming errors (values the schema itself would refuse). */
export function encodePermalink(state: PermalinkState): string {
  const parts = [`${VERSION_KEY}=${PERMALINK_VERSION}`];
  for (const spec of PERMALINK_FIELDS) {
    const text = encodeScalar(spec, state[spec.prop]);
    const check = parseScalar(spec, text);
    if (!check.ok) throw new Error(`encodePermalink: ${check.error.message}`);
    parts.push(`${spec.key}=${text}`);
  }
  if (state.mask && state.imagePng) parts.push(`${MASK_KEY}=${encodeBase64Url(packMaskBits(state.mask))}`);
  if (state.imagePng) parts.push(`${IMAGE_KEY}=${encodeBase64Url(state.imagePng)}`);
  return parts.join('&');
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

const INTRO = 'This link could not be opened';

function fail(code: PermalinkErrorCode, message: string, field?: string): { ok: false; error: PermalinkError } {
  return { ok: false, error: { code, message: `${INTRO}: ${message}.`, ...(field ? { field } : {}) } };
}

/** Shows a short, printable excerpt of an untrusted value inside a message. */
function quote(raw: string): string {
  const printable = raw.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > 24 ? `${printable.slice(0, 24)}…` : printable);
}

const UNSIGNED_INTEGER = /^\d+$/;
const UNSIGNED_DECIMAL = /^\d+(\.\d+)?$/;
const MAX_NUMBER_TEXT = 12;

type ScalarResult = { ok: true; value: unknown } | { ok: false; error: PermalinkError };

function parseScalar(spec: FieldSpec, raw: string): ScalarResult {
  const what = `the ${spec.label}`;
  switch (spec.kind) {
    case 'int':
    case 'float': {
      const pattern = spec.kind === 'int' ? UNSIGNED_INTEGER : UNSIGNED_DECIMAL;
      if (raw.startsWith('-') && pattern.test(raw.slice(1))) {
        return fail(
          'out-of-range',
          `${what} ${quote(raw)} is negative; it must be between ${spec.min} and ${spec.max}`,
          spec.key,
        );
      }
      if (!pattern.test(raw)) {
        const kind = spec.kind === 'int' ? 'a whole number' : 'a number';
        return fail('not-a-number', `${what} ${quote(raw)} is not ${kind}`, spec.key);
      }
      if (raw.length > MAX_NUMBER_TEXT) {
        return fail(
          'out-of-range',
          `${what} ${quote(raw)} is far too large; it must be between ${spec.min} and ${spec.max}`,
          spec.key,
        );
      }
      const value = Number(raw);
      if (!Number.isFinite(value) || value < spec.min || value > spec.max) {
        return fail('out-of-range', `${what} ${quote(raw)} must be between ${spec.min} and ${spec.max}`, spec.key);
      }
      return { ok: true, value };
    }
    case 'bool':
      if (raw === '0' || raw === '1') return { ok: true, value: raw === '1' };
      return fail('bad-choice', `${what} ${quote(raw)} must be 0 or 1`, spec.key);
    case 'choice':
      if (spec.choices.includes(raw)) return { ok: true, value: raw };
      return fail('bad-choice', `${what} ${quote(raw)} must be one of ${spec.choices.join(', ')}`, spec.key);
    case 'text':
      if (raw.length > spec.maxLength)
        return fail('bad-text', `${what} is longer than ${spec.maxLength} characters`, spec.key);
      if (!spec.pattern.test(raw)) {
        return fail(
          'bad-text',
          `${what} ${quote(raw)} contains characters that are not allowed (only ${spec.allowed})`,
          spec.key,
        );
      }
      return { ok: true, value: raw };
    case 'class': {
      if (raw === 'auto') return { ok: true, value: null };
      if (!UNSIGNED_INTEGER.test(raw))
        return fail('not-a-number', `${what} ${quote(raw)} must be "auto" or a class number`, spec.key);
      const value = raw.length > MAX_NUMBER_TEXT ? Infinity : Number(raw);
      if (value > MAX_CLASS_INDEX)
        return fail('out-of-range', `${what} ${quote(raw)} must be at most ${MAX_CLASS_INDEX}`, spec.key);
      return { ok: true, value };
    }
    case 'digest':
      if (!/^[0-9a-f]*$/.test(raw)) {
        return fail(
          'bad-text',
          `${what} ${quote(raw)} contains characters that are not allowed (only lower-case hexadecimal digits)`,
          spec.key,
        );
      }
      if (raw.length !== PACK_DIGEST_LENGTH) {
        const length = raw.length === 0 ? 'is empty' : `has ${raw.length} hex digits`;
        return fail('bad-digest', `${what} ${length}; a link carries all ${PACK_DIGEST_LENGTH} of them`, spec.key);
      }
      return { ok: true, value: raw };
  }
}

function decodeBytes(
  raw: string,
  key: string,
  label: string,
): { ok: true; bytes: Uint8Array } | { ok: false; error: PermalinkError } {
  const decoded = decodeBase64Url(raw);
  if (decoded === 'bad-character') return fail('not-base64', `the ${label} is not valid base64url text`, key);
  if (decoded === 'bad-length') return fail('truncated', `the ${label} has been cut short`, key);
  if (decoded === 'non-canonical')
    return fail('not-base64', `the ${label} ends with stray bits (it was edited or cut)`, key);
  return { ok: true, bytes: decoded };
}

export interface DecodeOptions {
  /** When known (the pack is loaded), the image must have exactly this size. */
  expectedImageSize?: number;
}

/** Parses and validates a hash ('#' optional). Never throws. An empty hash gives the defaults. */
export function decodePermalink(hash: string, options: DecodeOptions = {}): DecodeResult {
  try {
    return decodePermalinkUnguarded(hash, options);
  } catch (cause) {
    // Every rejection above is explicit; this only guards React against a bug in this file.
    return fail('malformed', `it could not be read (${cause instanceof Error ? cause.message : String(cause)})`);
  }
}

/**
 * The decoder itself, without decodePermalink's catch-all: every rejection is an explicit result, so a throw from
 * here is a bug (the property tests call this one so that such a bug cannot hide behind the guard).
 */
export function decodePermalinkUnguarded(hash: string, options: DecodeOptions = {}): DecodeResult {
  if (hash.length > MAX_HASH_LENGTH) {
    return fail(
      'too-large',
      `it is ${Math.round(hash.length / 1024)} KB long, more than the ${MAX_HASH_LENGTH / 1024} KB limit`,
    );
  }
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  const state: PermalinkState = { ...DEFAULT_PERMALINK_STATE };
  if (body === '') return { ok: true, state };

  const values = new Map<string, string>();
  for (const part of body.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return fail('malformed', `${quote(part)} is not a key=value pair`);
    const key = part.slice(0, eq);
    if (!KNOWN_KEYS.has(key))
      return fail('unknown-field', `it contains an unknown field ${quote(key)}`, key.slice(0, 24));
    if (values.has(key)) return fail('duplicate-field', `the field "${key}" appears twice`, key);
    values.set(key, part.slice(eq + 1));
  }

  const version = values.get(VERSION_KEY);
  if (version === undefined) return fail('missing-version', 'it has no schema version (v=…)', VERSION_KEY);
  if (version !== String(PERMALINK_VERSION)) {
    return fail(
      'unknown-version',
      `it uses schema version ${quote(version)}, but this app reads version ${PERMALINK_VERSION}`,
      VERSION_KEY,
    );
  }

  for (const spec of PERMALINK_FIELDS) {
    const raw = values.get(spec.key);
    if (raw === undefined) continue;
    const parsed = parseScalar(spec, raw);
    if (!parsed.ok) return parsed;
    (state as unknown as Record<string, unknown>)[spec.prop] = parsed.value;
  }

  const rawImage = values.get(IMAGE_KEY);
  if (rawImage !== undefined) {
    const bytes = decodeBytes(rawImage, IMAGE_KEY, 'image');
    if (!bytes.ok) return bytes;
    const png = inspectPng(bytes.bytes);
    if (!png.ok) {
      if (png.problem === 'not-png') return fail('not-png', 'the image is not a PNG', IMAGE_KEY);
      if (png.problem === 'truncated')
        return fail('truncated', `the image has been cut short (${png.detail})`, IMAGE_KEY);
      return fail('corrupt-png', `the image is damaged (${png.detail})`, IMAGE_KEY);
    }
    const { width, height } = png.header;
    if (width !== height || width > MAX_LINK_IMAGE_SIZE) {
      return fail(
        'wrong-image-size',
        `the image is ${width}×${height}; it must be square and at most ${MAX_LINK_IMAGE_SIZE} px`,
        IMAGE_KEY,
      );
    }
    if (options.expectedImageSize !== undefined && width !== options.expectedImageSize) {
      return fail(
        'wrong-image-size',
        `the image is ${width}×${height} but this pack works at ${options.expectedImageSize}×${options.expectedImageSize}`,
        IMAGE_KEY,
      );
    }
    state.imagePng = bytes.bytes;
  }

  const rawMask = values.get(MASK_KEY);
  if (rawMask !== undefined) {
    if (!state.imagePng) return fail('mask-without-image', 'it has a painted mask but no image to paint on', MASK_KEY);
    const size = inspectPngSize(state.imagePng);
    const pixelCount = size * size;
    const bytes = decodeBytes(rawMask, MASK_KEY, 'mask');
    if (!bytes.ok) return bytes;
    const expectedLength = Math.ceil(pixelCount / 8);
    if (bytes.bytes.length < expectedLength)
      return fail(
        'truncated',
        `the mask has been cut short (${bytes.bytes.length} of ${expectedLength} bytes)`,
        MASK_KEY,
      );
    if (bytes.bytes.length > expectedLength || !hasOnlyZeroPadding(bytes.bytes, pixelCount)) {
      return fail('bad-mask', `the mask does not match the ${size}×${size} image`, MASK_KEY);
    }
    state.mask = unpackMaskBits(bytes.bytes, pixelCount);
  }
  // Checked last, so a link that is broken elsewhere reports that first. Without a digest nothing could tell the
  // reader that the link's samples came from other weights.
  if (!values.has('digest')) {
    return fail(
      'missing-digest',
      `it does not say which pack weights made it (no digest=…, the ${PACK_DIGEST_LENGTH}-digit pack digest)`,
      'digest',
    );
  }
  return { ok: true, state };
}

function inspectPngSize(png: Uint8Array): number {
  const result = inspectPng(png);
  return result.ok ? result.header.width : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Checks that need the loaded pack

export interface PackIdentity {
  id: string;
  digest: string;
  imageSize: number;
  classCount: number;
}

export interface PackCheck {
  /** Parts of the link that cannot be used with this pack (they are dropped; the rest still applies). */
  errors: PermalinkError[];
  /** Visible notes; the link still runs. */
  warnings: string[];
}

export function checkPermalinkAgainstPack(state: PermalinkState, pack: PackIdentity): PackCheck {
  const errors: PermalinkError[] = [];
  const warnings: string[] = [];
  if (state.packDigest !== pack.digest) {
    const made = state.packDigest === '' ? 'no digest' : `digest ${state.packDigest.slice(0, 8)}…`;
    warnings.push(
      `This link was made with different weights (${made}, now ${pack.digest.slice(0, 8)}…): ` +
        'it still runs, but the samples will not match what its author saw.',
    );
  }
  if (state.packId !== pack.id) {
    warnings.push(
      `This link asked for pack "${state.packId}", which is not available; it runs with "${pack.id}" instead.`,
    );
  }
  if (state.classIndex !== null && state.classIndex >= pack.classCount) {
    errors.push({
      code: 'out-of-range',
      field: 'class',
      message: `${INTRO} fully: class ${state.classIndex} does not exist in this pack (it has ${pack.classCount}); the prediction is used instead.`,
    });
  }
  if (state.classB !== null && state.classB >= pack.classCount) {
    errors.push({
      code: 'out-of-range',
      field: 'class2',
      message: `${INTRO} fully: second class ${state.classB} does not exist in this pack (it has ${pack.classCount}); the first class is used for both ends.`,
    });
  }
  if (state.imagePng) {
    const size = inspectPngSize(state.imagePng);
    if (size !== pack.imageSize) {
      errors.push({
        code: 'wrong-image-size',
        field: 'img',
        message: `${INTRO} fully: its image is ${size}×${size} but this pack works at ${pack.imageSize}×${pack.imageSize}; the image was not loaded.`,
      });
    }
  }
  return { errors, warnings };
}
