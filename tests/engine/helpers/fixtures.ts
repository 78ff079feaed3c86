// Reading the parity fixtures that scripts/export.py writes (docs/pack-format.md, "Parity fixtures").
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostTensor } from '../../../src/engine/engine';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const FIXTURES_ROOT = join(REPO_ROOT, 'tests/fixtures');

export interface SpCase {
  name: string;
  z: string;
  y: string;
  on: string;
  mask: string;
  out: string;
  /** Which image row of `image`/`feature.*` each case row uses; absent in fixtures that tile rows in order. */
  rows?: number[];
  /** When present, `out` holds the output only at these pixels (see samplePixels). */
  pixels?: string;
}

export interface LagCase {
  name: string;
  lr: string;
  noise: string;
  amplitude: number;
  out: string;
  /** When present, `out` holds the output only at these pixels (see samplePixels). */
  pixels?: string;
}

export interface Fixture {
  name: string;
  dir: string;
  packId: string;
  /** pack.json's directory, relative to the repository root. */
  packDir: string;
  digest: string;
  tolerance: number;
  cases: { sp: SpCase[]; lag: LagCase[] };
  tensor(name: string): HostTensor;
}

/** Every directory under tests/fixtures/ holding a fixtures.json. */
export function findFixtureDirs(): string[] {
  if (!existsSync(FIXTURES_ROOT)) return [];
  return readdirSync(FIXTURES_ROOT, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(FIXTURES_ROOT, entry.name, 'fixtures.json')))
    .map((entry) => join(FIXTURES_ROOT, entry.name))
    .sort();
}

export function readFixture(dir: string): Fixture {
  const meta = JSON.parse(readFileSync(join(dir, 'fixtures.json'), 'utf8'));
  const raw = readFileSync(join(dir, 'fixtures.bin'));
  const floats = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  // The pack lives at packDir (relative to the repository root), or next to fixtures.json.
  const packDir: string = meta.packDir ?? dir.slice(REPO_ROOT.length + 1);
  return {
    name: dir.split('/').pop()!,
    dir,
    packId: meta.packId,
    packDir,
    digest: meta.digest,
    tolerance: meta.tolerance,
    cases: meta.cases,
    tensor(name: string): HostTensor {
      const entry = meta.tensors[name];
      if (!entry) throw new Error(`fixture ${dir} has no tensor ${name}`);
      return { shape: entry.shape, values: floats.slice(entry.offset, entry.offset + entry.length) };
    },
  };
}

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** Rows `rows` of a batch-first tensor. */
export function takeRows(tensor: HostTensor, rows: number[]): HostTensor {
  const rowSize = tensor.values.length / tensor.shape[0];
  const values = new Float32Array(rows.length * rowSize);
  rows.forEach((row, i) => values.set(tensor.values.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize));
  return { shape: [rows.length, ...tensor.shape.slice(1)], values };
}

/**
 * The values of an NHWC output at the pixels a fixture stored (flat indices over [B, S, S], as float32), in that
 * order; the whole output when the case has no `pixels` (tests/fixtures/make_fixtures.py samples large outputs).
 */
export function samplePixels(output: Float32Array, pixels: HostTensor | undefined, channels = 3): Float32Array {
  if (!pixels) return output;
  const picked = new Float32Array(pixels.values.length * channels);
  pixels.values.forEach((flat, i) => {
    if (!Number.isInteger(flat) || flat < 0 || (flat + 1) * channels > output.length) {
      throw new Error(`fixture pixel index ${flat} is outside an output of ${output.length / channels} pixels`);
    }
    picked.set(output.subarray(flat * channels, (flat + 1) * channels), i * channels);
  });
  return picked;
}
