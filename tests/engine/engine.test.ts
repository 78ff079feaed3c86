// The engine's operations on the tiny pack (cpu backend): determinism of the noise derivation through the whole
// pipeline, batching invariance, streaming and cancellation, LAG statistics, input errors, and tensor leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyramidEngine } from '../../src/engine/engine';
import { CancelledError, EngineError } from '../../src/engine/errors';
import { signedToRgba } from '../../src/engine/image';
import { standardNormalBatch } from '../../src/engine/noise';
import type { GenerateRequest, LagRequest, RgbaImage } from '../../src/engine/protocol';
import { REPO_ROOT, maxAbsDiff, readFixture, takeRows } from './helpers/fixtures';
import { startStaticServer, type StaticServer } from './helpers/staticServer';

const SIZE = 32;

function testImage(seed: number): RgbaImage {
  const data = new Uint8ClampedArray(SIZE * SIZE * 4);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const p = (y * SIZE + x) * 4;
      data[p] = (x * 8 + seed * 40) % 256;
      data[p + 1] = (y * 8) % 256;
      data[p + 2] = ((x + y) * 4 + seed * 7) % 256;
      data[p + 3] = 255;
    }
  }
  return { width: SIZE, height: SIZE, data };
}

async function collectRows(engine: PyramidEngine, request: GenerateRequest) {
  const rows: { level: number; images: RgbaImage[] }[] = [];
  await engine.generate(request, (level, images) => rows.push({ level, images }));
  return rows;
}

let server: StaticServer;
let engine: PyramidEngine;

beforeAll(async () => {
  server = await startStaticServer(REPO_ROOT);
  engine = new PyramidEngine();
  await engine.init('cpu');
  await engine.loadPack({ packUrl: `${server.url}tests/fixtures/tiny/pack.json` });
});
afterAll(async () => {
  engine.dispose();
  await server.close();
});

describe('extract', () => {
  it('returns class probabilities that match the VGG parity fixture image', async () => {
    const fixture = readFixture(`${REPO_ROOT}/tests/fixtures/tiny`);
    const image = takeRows(fixture.tensor('image'), [0]);
    // The fixture's exact image: every pyramid level, the fc8 logits included, as PyTorch computed them.
    const levels = await engine.computeFeatures(image.values, 1);
    const names = ['pool1', 'pool2', 'pool3', 'pool4', 'pool5', 'fc7', 'fc8'];
    names.forEach((name, i) => {
      const expected = takeRows(fixture.tensor(`feature.${name}`), [0]).values;
      expect(maxAbsDiff(levels[i].values, expected), `feature.${name}`).toBeLessThanOrEqual(fixture.tolerance);
    });
    // extract() sees the image as 8-bit RGBA, so its probabilities are the softmax of the logits of the quantized
    // image, which the same (fixture-checked) pyramid gives; the prediction must be the fixture's class.
    const rgba = signedToRgba(image.values, SIZE, SIZE, 0);
    const probabilities = await engine.extract('fixture0', rgba);
    expect(probabilities).toHaveLength(10);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const pixels = new Float32Array(SIZE * SIZE * 3);
    for (let i = 0, q = 0; i < rgba.data.length; i += 4, q += 3) {
      for (let c = 0; c < 3; c++) pixels[q + c] = rgba.data[i + c] / 127.5 - 1;
    }
    const logits = (await engine.computeFeatures(pixels, 1))[6].values;
    const max = Math.max(...logits);
    const expSum = Array.from(logits).reduce((a, v) => a + Math.exp(v - max), 0);
    probabilities.forEach((p, k) => expect(p).toBeCloseTo(Math.exp(logits[k] - max) / expSum, 6));
    const fixtureLogits = Array.from(takeRows(fixture.tensor('feature.fc8'), [0]).values);
    expect(probabilities.indexOf(Math.max(...probabilities))).toBe(fixtureLogits.indexOf(Math.max(...fixtureLogits)));
  });

  it('rejects bad images with bad-input (wrong size, zero size, wrong length, non-byte data, missing)', async () => {
    const bad: unknown[] = [
      { width: 16, height: 16, data: new Uint8ClampedArray(16 * 16 * 4) },
      { width: 0, height: 0, data: new Uint8ClampedArray(0) },
      { width: SIZE, height: SIZE, data: new Uint8ClampedArray(10) },
      { width: SIZE, height: SIZE, data: new Float32Array(SIZE * SIZE * 4).fill(NaN) },
      { width: SIZE, height: SIZE, data: Array.from({ length: SIZE * SIZE * 4 }, () => NaN) },
      { width: NaN, height: SIZE, data: new Uint8ClampedArray(SIZE * SIZE * 4) },
      { width: SIZE, height: SIZE },
      null,
      undefined,
    ];
    for (const image of bad) {
      const error = await engine.extract('bad', image as RgbaImage).catch((e) => e);
      expect(error, String(JSON.stringify(image))?.slice(0, 80)).toBeInstanceOf(EngineError);
      expect(error.code).toBe('bad-input');
    }
    await expect(engine.extract('', testImage(0))).rejects.toMatchObject({ code: 'bad-input' });
  });
});

describe('generate', () => {
  const base = { featuresId: 'img', seed: 1234, classIndex: 3 };
  beforeAll(async () => {
    await engine.extract('img', testImage(1));
  });

  it('streams one row per level, in order, each with `samples` images', async () => {
    const rows = await collectRows(engine, { ...base, levels: [0, 4, 6], samples: 3 });
    expect(rows.map((r) => r.level)).toEqual([0, 4, 6]);
    for (const row of rows) {
      expect(row.images).toHaveLength(3);
      for (const image of row.images) {
        expect([image.width, image.height, image.data.length]).toEqual([SIZE, SIZE, SIZE * SIZE * 4]);
        for (let p = 3; p < image.data.length; p += 4) expect(image.data[p]).toBe(255);
      }
    }
    // Different levels condition differently: the rows differ.
    expect(rows[0].images[0].data).not.toEqual(rows[1].images[0].data);
  });

  it('gives sample i the same noise whatever the grid size, batch size or row position', async () => {
    const grid = await collectRows(engine, { ...base, levels: [1, 5, 2], samples: 4 });
    const single = await collectRows(engine, { ...base, levels: [2], samples: 2 });
    expect(single[0].images).toEqual(grid[2].images.slice(0, 2));

    const tinyBatches = new PyramidEngine({ batchPixels: 3 * SIZE * SIZE }); // 3 images per forward
    await tinyBatches.init('cpu');
    await tinyBatches.loadPack({ packUrl: `${server.url}tests/fixtures/tiny/pack.json` });
    await tinyBatches.extract('img', testImage(1));
    const rebatched = await collectRows(tinyBatches, { ...base, levels: [1, 5, 2], samples: 4 });
    tinyBatches.dispose();
    expect(rebatched).toEqual(grid);
  });

  it('equals the SP forward on the documented inputs (noise derivation, one-hot `on`, RGBA conversion)', async () => {
    const [row] = await collectRows(engine, { ...base, levels: [3], samples: 2 });
    const pixels = new Float32Array(SIZE * SIZE * 3);
    const rgba = testImage(1).data;
    for (let i = 0, q = 0; i < rgba.length; i += 4, q += 3)
      for (let c = 0; c < 3; c++) pixels[q + c] = rgba[i + c] / 127.5 - 1;
    const features = await engine.computeFeatures(pixels, 1);
    const out = await engine.runSp({
      z: standardNormalBatch(base.seed, 'sp', [0, 1], 8),
      classes: [3, 3],
      on: [
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
      ],
      mask: new Float32Array(SIZE * SIZE).fill(1),
      features,
    });
    expect(row.images[0]).toEqual(signedToRgba(out, SIZE, SIZE, 0));
    expect(row.images[1]).toEqual(signedToRgba(out, SIZE, SIZE, SIZE * SIZE * 3));
  });

  it("applies the painted mask (an all-zero mask removes the spatial level's influence)", async () => {
    const zeroMask = new Float32Array(SIZE * SIZE);
    const masked = await collectRows(engine, { ...base, levels: [0], samples: 1, mask: zeroMask });
    const unmasked = await collectRows(engine, { ...base, levels: [0], samples: 1 });
    expect(masked[0].images[0].data).not.toEqual(unmasked[0].images[0].data);
    // With nothing painted, pool1 contributes nothing: same as the image-free output of another spatial level.
    const otherLevel = await collectRows(engine, { ...base, levels: [1], samples: 1, mask: zeroMask });
    expect(masked[0].images[0].data).toEqual(otherLevel[0].images[0].data);
  });

  it('stops between batches when cancelled, after streaming the rows already done', async () => {
    const small = new PyramidEngine({ batchPixels: 2 * SIZE * SIZE });
    await small.init('cpu');
    await small.loadPack({ packUrl: `${server.url}tests/fixtures/tiny/pack.json` });
    await small.extract('img', testImage(1));
    const rows: number[] = [];
    const run = small.generate(
      { ...base, levels: [0, 1, 2, 3], samples: 2 },
      (level) => rows.push(level),
      () => rows.length >= 2,
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(rows).toEqual([0, 1]);
    small.dispose();
  });

  it('rejects bad requests with bad-input', async () => {
    const cases: Partial<GenerateRequest>[] = [
      { levels: [7] },
      { levels: [] },
      { samples: 0 },
      { classIndex: 10 },
      { seed: 1.5 },
      { mask: new Float32Array(10) },
      { mask: new Float32Array(SIZE * SIZE).fill(NaN) },
      { mask: new Float32Array(SIZE * SIZE).fill(2) },
      { featuresId: 'never-extracted' },
      { featuresId: undefined },
      { levels: [NaN] },
      { samples: NaN },
    ];
    for (const override of cases) {
      const error = await engine.generate({ ...base, levels: [0], samples: 1, ...override }, () => {}).catch((e) => e);
      expect(error, JSON.stringify(override)).toBeInstanceOf(EngineError);
      expect(error.code).toBe('bad-input');
    }
  });
});

describe('lag', () => {
  it('returns candidates, the low-res input, and a spread map that is zero at amplitude 0', async () => {
    const still = await engine.lag({ image: testImage(2), candidates: 4, seed: 9, amplitude: 0 });
    expect(still.candidates).toHaveLength(4);
    expect([still.lr.width, still.lr.height]).toEqual([8, 8]);
    expect(still.maxStd).toBe(0);
    for (const c of still.candidates) expect(c.data).toEqual(still.candidates[0].data);

    const varied = await engine.lag({ image: testImage(2), candidates: 4, seed: 9, amplitude: 1 });
    expect(varied.maxStd).toBeGreaterThan(0);
    expect(varied.candidates[0].data).not.toEqual(varied.candidates[1].data);
    expect([varied.stdMap.width, varied.stdMap.height]).toEqual([SIZE, SIZE]);
    // The heat map's brightest pixel is where the spread is largest (the map is scaled by maxStd).
    expect(Math.max(...Array.from(varied.stdMap.data).filter((_, i) => i % 4 === 0))).toBe(252);

    // Candidate i's noise depends only on (seed, i): asking for more candidates keeps the first ones.
    const more = await engine.lag({ image: testImage(2), candidates: 6, seed: 9, amplitude: 1 });
    expect(more.candidates.slice(0, 4)).toEqual(varied.candidates);
  });

  it('the low-res input is the average-pooled image', async () => {
    const image = testImage(3);
    const { lr } = await engine.lag({ image, candidates: 1, seed: 0, amplitude: 0 });
    let sum = 0;
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) sum += image.data[(y * SIZE + x) * 4] / 127.5 - 1;
    expect(lr.data[0]).toBe(Math.round((sum / 16 + 1) * 127.5));
  });

  it('rejects bad requests with bad-input', async () => {
    const overrides: Record<string, unknown>[] = [
      { candidates: 0 },
      { candidates: NaN },
      { amplitude: 1.5 },
      { amplitude: NaN },
      { seed: 0.5 },
      { image: { width: 16, height: 16, data: new Uint8ClampedArray(16 * 16 * 4) } },
      { image: { width: 0, height: 0, data: new Uint8ClampedArray(0) } },
      { image: { width: SIZE, height: SIZE, data: new Float32Array(SIZE * SIZE * 4).fill(NaN) } },
      { image: undefined },
    ];
    for (const override of overrides) {
      const error = await engine
        .lag({ image: testImage(1), candidates: 2, seed: 1, amplitude: 0.5, ...override } as LagRequest)
        .catch((e) => e);
      expect(error.code, JSON.stringify(override)).toBe('bad-input');
    }
  });
});

describe('memory', () => {
  const flat = () => {
    const { numTensors, numBytes } = engine.memory();
    return { numTensors, numBytes };
  };

  // 1,000 generations across every level, single rows and the compare grid, with and without masks, and LAG, with
  // images extracted and dropped along the way: after a warm-up round, tensor count and bytes stay exactly flat.
  it(
    'keeps tensors and bytes flat over 1,000 generations across levels and modes',
    async () => {
      const halfMask = new Float32Array(SIZE * SIZE).map((_, p) => (p % SIZE < SIZE / 2 ? 1 : 0));
      const round = async (i: number) => {
        const id = `leak-${i % 3}`;
        if (i % 25 === 0) await engine.extract(id, testImage(i)); // replaces the set under that id
        const mode = i % 8; // single rows 3/8, masked rows 2/8, compare grid 1/8, LAG 2/8
        if (mode === 0 || mode === 4 || mode === 6) {
          await engine.generate({ featuresId: id, levels: [i % 7], samples: 1, seed: i, classIndex: i % 10 }, () => {});
        } else if (mode === 1 || mode === 5) {
          const mask = mode === 1 ? halfMask : new Float32Array(SIZE * SIZE).fill((i % 5) / 4);
          await engine.generate(
            { featuresId: id, levels: [(i * 3) % 7], samples: 2, seed: i, classIndex: (i * 7) % 10, mask },
            () => {},
          );
        } else if (mode === 2) {
          // The compare grid: all 7 levels in one request (masked every other time).
          const mask = i % 16 === 2 ? halfMask : undefined;
          await engine.generate(
            { featuresId: id, levels: [0, 1, 2, 3, 4, 5, 6], samples: 1, seed: i, classIndex: i % 10, mask },
            () => {},
          );
        } else {
          await engine.lag({ image: testImage(i % 5), candidates: 1 + (i % 3), seed: i, amplitude: (i % 3) / 2 });
        }
      };
      for (let i = 0; i < 3; i++) await engine.extract(`leak-${i}`, testImage(i));
      for (let i = 0; i < 16; i++) await round(i); // warm-up: every mode and mask variant once
      const after = flat();
      for (let i = 16; i < 1000; i++) {
        await round(i);
        if (i % 50 === 49) expect(flat(), `after generation ${i + 1}`).toEqual(after);
      }
      expect(flat()).toEqual(after);
      for (let i = 0; i < 3; i++) engine.dropFeatures(`leak-${i}`);
      // Bounded by its 1,000 rounds, not by a clock: the limit only stops a hang, however slow the machine.
    },
    30 * 60_000,
  );

  it('the GPU warm-up (real batch shapes through generate and LAG) leaves nothing behind', async () => {
    const before = flat();
    const warm = new PyramidEngine({ warmUp: { samples: 3, compareSamples: 2, lagCandidates: 3, always: true } });
    await warm.init('cpu');
    await warm.loadPack({ packUrl: `${server.url}tests/fixtures/tiny/pack.json` });
    const weights = flat().numTensors - before.numTensors;
    expect(weights).toBeGreaterThan(0);
    await warm.extract('x', testImage(3));
    expect(flat().numTensors - before.numTensors).toBe(weights + 7); // only the weights and the 7 levels of 'x'
    warm.dispose();
    expect(flat()).toEqual(before);
  });

  it('dropping features frees their tensors', async () => {
    const before = flat();
    await engine.extract('drop-me', testImage(4));
    await engine.generate({ featuresId: 'drop-me', levels: [1], samples: 1, seed: 0, classIndex: 0 }, () => {});
    expect(flat().numTensors).toBeGreaterThan(before.numTensors);
    engine.dropFeatures('drop-me');
    expect(flat()).toEqual(before);
  });

  it('a generation or LAG cancelled halfway leaves no tensors behind', async () => {
    const beforeAll = flat(); // tf.memory() is global: the shared engine's tensors are in it too
    const small = new PyramidEngine({ batchPixels: 2 * SIZE * SIZE }); // 2 images per forward: many batches
    await small.init('cpu');
    await small.loadPack({ packUrl: `${server.url}tests/fixtures/tiny/pack.json` });
    await small.extract('img', testImage(1));
    const baseline = small.memory();
    for (let stopAfter = 1; stopAfter <= 3; stopAfter++) {
      let batches = 0;
      const run = small.generate(
        {
          featuresId: 'img',
          levels: [0, 1, 2, 3, 4, 5, 6],
          samples: 2,
          seed: stopAfter,
          classIndex: 1,
          mask: new Float32Array(SIZE * SIZE).fill(0.5),
        },
        () => {},
        () => batches++ >= stopAfter,
      );
      await expect(run).rejects.toBeInstanceOf(CancelledError);
      expect(small.memory(), `generate stopped after ${stopAfter} batches`).toEqual(baseline);
      let lagBatches = 0;
      const lag = small.lag(
        { image: testImage(2), candidates: 9, seed: 1, amplitude: 1 },
        () => lagBatches++ >= stopAfter,
      );
      await expect(lag).rejects.toBeInstanceOf(CancelledError);
      expect(small.memory(), `lag stopped after ${stopAfter} batches`).toEqual(baseline);
    }
    // Failed requests leave nothing behind either.
    await small
      .generate({ featuresId: 'img', levels: [9], samples: 1, seed: 0, classIndex: 0 }, () => {})
      .catch(() => {});
    await small
      .lag({ image: { width: 1, height: 1, data: new Uint8ClampedArray(4) }, candidates: 1, seed: 0, amplitude: 0 })
      .catch(() => {});
    expect(small.memory()).toEqual(baseline);
    small.dispose();
    expect(flat()).toEqual(beforeAll);
  });
});
