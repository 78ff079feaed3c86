// Interpolation on the tiny pack (cpu backend): parity of slerped noise and blended classes with PyTorch
// (tests/fixtures/interpolation, written by scripts/pipeline/interpolation_fixtures.py), the deterministic slerp,
// and the engine's interpolate(): endpoints equal to the grid's first samples, gradual frames, bad input, no leaks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyramidEngine, type HostTensor } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import { acosDeterministic, classWeightRows, frameTimes, slerp } from '../../src/engine/interpolation';
import type { RgbaImage } from '../../src/engine/protocol';
import { maxAbsDiff, REPO_ROOT } from './helpers/fixtures';
import { startStaticServer, type StaticServer } from './helpers/staticServer';

const DIR = join(REPO_ROOT, 'tests/fixtures/interpolation/tiny');
const meta = JSON.parse(readFileSync(join(DIR, 'interpolation.json'), 'utf8'));
const raw = readFileSync(join(DIR, 'interpolation.bin'));
const floats = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const tensor = (name: string): HostTensor => {
  const entry = meta.tensors[name];
  if (!entry) throw new Error(`no tensor ${name}`);
  return { shape: entry.shape, values: floats.slice(entry.offset, entry.offset + entry.length) };
};

let server: StaticServer;
let engine: PyramidEngine;
const SIZE = 32;

beforeAll(async () => {
  server = await startStaticServer(REPO_ROOT);
  engine = new PyramidEngine();
  await engine.init('cpu');
  const { summary } = await engine.loadPack({ packUrl: `${server.url}${meta.packDir}/pack.json` });
  expect(summary.digest).toBe(meta.digest);
});
afterAll(async () => {
  engine?.dispose();
  await server?.close();
});

describe('deterministic slerp', () => {
  it('acos matches Math.acos to 1e-15 across [-1, 1]', () => {
    for (let c = -1; c <= 1; c += 0.0625) expect(Math.abs(acosDeterministic(c) - Math.acos(c))).toBeLessThan(1e-15);
  });

  it('keeps the endpoints exactly and the norm of orthogonal vectors', () => {
    const a = new Float32Array(8);
    const b = new Float32Array(8);
    a[0] = 2;
    b[1] = 2;
    expect(Array.from(slerp(a, b, 0))).toEqual(Array.from(a));
    expect(Array.from(slerp(a, b, 1))).toEqual(Array.from(b));
    const middle = slerp(a, b, 0.5);
    expect(Math.hypot(...middle)).toBeCloseTo(2, 6);
    expect(Array.from(slerp(a, a, 0.3))).toEqual(Array.from(a));
  });

  it('frame times run from 0 to 1 evenly; class rows blend the two classes', () => {
    expect(frameTimes(5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(classWeightRows(1, 3, [0, 0.25, 1], 4)).toEqual([
      [0, 1, 0, 0],
      [0, 0.75, 0, 0.25],
      [0, 0, 0, 1],
    ]);
    expect(classWeightRows(2, 2, [0.5], 3)).toEqual([[0, 0, 1]]);
  });
});

describe('parity with PyTorch (reference.py) within the fixture tolerance', () => {
  const features = () =>
    ['pool1', 'pool2', 'pool3', 'pool4', 'pool5', 'fc7', 'fc8'].map((name) => tensor(`feature.${name}`));

  for (const spCase of meta.cases.sp as {
    name: string;
    level: number;
    classA: number;
    classB: number;
    times: number[];
    zA: string;
    zB: string;
    z: string;
    mask: string;
    out: string;
  }[]) {
    it(`SP ${spCase.name}: slerped z and blended classes`, async () => {
      const zA = tensor(spCase.zA).values;
      const zB = tensor(spCase.zB).values;
      const z = new Float32Array(spCase.times.length * zA.length);
      spCase.times.forEach((t, i) => z.set(slerp(zA, zB, t), i * zA.length));
      expect(maxAbsDiff(z, tensor(spCase.z).values), 'slerp').toBeLessThanOrEqual(1e-6);
      const numClasses = engine.packSummary!.classNames.length;
      const out = await engine.runSp({
        z,
        classes: classWeightRows(spCase.classA, spCase.classB, spCase.times, numClasses),
        on: spCase.times.map(() => Array.from({ length: 7 }, (_, l) => (l === spCase.level ? 1 : 0))),
        mask: tensor(spCase.mask).values,
        features: features(),
      });
      expect(maxAbsDiff(out, tensor(spCase.out).values)).toBeLessThanOrEqual(meta.tolerance);
    });
  }

  it('LAG: slerped noise maps', async () => {
    const lagCase = meta.cases.lag[0];
    const a = tensor(lagCase.noiseA).values;
    const b = tensor(lagCase.noiseB).values;
    const noise = new Float32Array(lagCase.times.length * a.length);
    lagCase.times.forEach((t: number, i: number) => noise.set(slerp(a, b, t), i * a.length));
    expect(maxAbsDiff(noise, tensor(lagCase.noise).values), 'slerp').toBeLessThanOrEqual(1e-6);
    const lr = tensor(lagCase.lr).values;
    const lrBatch = new Float32Array(lagCase.times.length * lr.length);
    lagCase.times.forEach((_: number, i: number) => lrBatch.set(lr, i * lr.length));
    const out = await engine.runLag({ lr: lrBatch, noise, amplitude: lagCase.amplitude, batch: lagCase.times.length });
    expect(maxAbsDiff(out, tensor(lagCase.out).values)).toBeLessThanOrEqual(meta.tolerance);
  });
});

function testImage(): RgbaImage {
  const data = new Uint8ClampedArray(SIZE * SIZE * 4);
  for (let p = 0; p < SIZE * SIZE; p++) data.set([(p * 7) % 256, (p >> 5) * 8, 200 - ((p * 3) % 97), 255], p * 4);
  return { width: SIZE, height: SIZE, data };
}

const meanDiff = (a: RgbaImage, b: RgbaImage) => {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) if ((i & 3) !== 3) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / (a.data.length * 0.75);
};

describe('engine.interpolate', () => {
  it('SP: the endpoints are the grid samples of the two seeds; frames change gradually', async () => {
    await engine.extract('interp', testImage());
    const frames = await engine.interpolate({
      model: 'sp',
      frames: 6,
      seedA: 11,
      seedB: 12,
      featuresId: 'interp',
      level: 2,
      classA: 3,
      classB: 3,
    });
    expect(frames).toHaveLength(6);
    const grid = async (seed: number) => {
      let images: RgbaImage[] = [];
      await engine.generate(
        { featuresId: 'interp', levels: [2], samples: 1, seed, classIndex: 3 },
        (_, row) => (images = row),
      );
      return images[0];
    };
    expect(meanDiff(frames[0], await grid(11))).toBeLessThan(0.01);
    expect(meanDiff(frames[5], await grid(12))).toBeLessThan(0.01);
    const endpoints = meanDiff(frames[0], frames[5]);
    expect(endpoints).toBeGreaterThan(1);
    for (let i = 0; i < 5; i++) expect(meanDiff(frames[i], frames[i + 1])).toBeLessThan(endpoints);
  });

  it('SP classes: the blended middle differs from both ends; LAG frames follow the noise', async () => {
    const frames = await engine.interpolate({
      model: 'sp',
      frames: 3,
      seedA: 5,
      seedB: 5,
      featuresId: 'interp',
      level: 6,
      classA: 0,
      classB: 9,
    });
    expect(meanDiff(frames[0], frames[1])).toBeGreaterThan(0);
    expect(meanDiff(frames[1], frames[2])).toBeGreaterThan(0);
    const lag = await engine.interpolate({
      model: 'lag',
      frames: 4,
      seedA: 1,
      seedB: 2,
      image: testImage(),
      amplitude: 1,
    });
    const candidates = async (seed: number) =>
      (await engine.lag({ image: testImage(), candidates: 1, seed, amplitude: 1 })).candidates[0];
    expect(meanDiff(lag[0], await candidates(1))).toBeLessThan(0.01);
    expect(meanDiff(lag[3], await candidates(2))).toBeLessThan(0.01);
  });

  it('refuses bad requests with bad-input and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const base = {
      model: 'sp' as const,
      frames: 4,
      seedA: 1,
      seedB: 2,
      featuresId: 'interp',
      level: 2,
      classA: 0,
      classB: 1,
    };
    const bad = [
      { ...base, frames: 1 },
      { ...base, frames: 17 },
      { ...base, frames: 2.5 },
      { ...base, classB: 10 },
      { ...base, seedB: 0.5 },
      { ...base, level: 7 },
      { ...base, featuresId: 'missing' },
      { model: 'lag' as const, frames: 3, seedA: 1, seedB: 2, image: testImage(), amplitude: 2 },
      {
        model: 'lag' as const,
        frames: 3,
        seedA: 1,
        seedB: 2,
        image: { width: 4, height: 4, data: new Uint8ClampedArray(64) },
        amplitude: 1,
      },
      { ...base, model: 'other' },
    ];
    for (const request of bad) {
      const error = await engine.interpolate(request as never).catch((e) => e);
      expect(error, JSON.stringify({ ...request, image: undefined })).toBeInstanceOf(EngineError);
      expect((error as EngineError).code).toBe('bad-input');
    }
    await engine.interpolate(base);
    expect(tf.memory().numTensors).toBe(before);
  });
});
