// The engine's operations on the tiny pack (cpu backend): determinism of the noise derivation through the whole
// pipeline, batching invariance, streaming and cancellation, LAG statistics, input errors, and tensor leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyramidEngine, type GenerateRequest } from '../../src/engine/engine';
import { CancelledError, EngineError } from '../../src/engine/errors';
import { signedToRgba } from '../../src/engine/image';
import { standardNormalBatch } from '../../src/engine/noise';
import type { RgbaImage } from '../../src/engine/protocol';
import { REPO_ROOT, readFixture } from './helpers/fixtures';
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
    const image = fixture.tensor('image');
    // Fixture image 0 -> RGBA, then back: the engine sees it quantized to 8 bits, so compare to its own features.
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
  });

  it('rejects an image of the wrong size', async () => {
    const small = { width: 16, height: 16, data: new Uint8ClampedArray(16 * 16 * 4) };
    await expect(engine.extract('bad', small)).rejects.toMatchObject({ code: 'bad-input' });
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
    for (let i = 0, q = 0; i < rgba.length; i += 4, q += 3) for (let c = 0; c < 3; c++) pixels[q + c] = rgba[i + c] / 127.5 - 1;
    const features = await engine.computeFeatures(pixels, 1);
    const out = await engine.runSp({
      z: standardNormalBatch(base.seed, 'sp', [0, 1], 8),
      classes: [3, 3],
      on: [[0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0]],
      mask: new Float32Array(SIZE * SIZE).fill(1),
      features,
    });
    expect(row.images[0]).toEqual(signedToRgba(out, SIZE, SIZE, 0));
    expect(row.images[1]).toEqual(signedToRgba(out, SIZE, SIZE, SIZE * SIZE * 3));
  });

  it('applies the painted mask (an all-zero mask removes the spatial level\'s influence)', async () => {
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
    const run = small.generate({ ...base, levels: [0, 1, 2, 3], samples: 2 }, (level) => rows.push(level), () => rows.length >= 2);
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
      { featuresId: 'never-extracted' },
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
    for (const override of [{ candidates: 0 }, { amplitude: 1.5 }, { amplitude: NaN }, { seed: 0.5 }]) {
      const error = await engine.lag({ image: testImage(1), candidates: 2, seed: 1, amplitude: 0.5, ...override }).catch((e) => e);
      expect(error.code, JSON.stringify(override)).toBe('bad-input');
    }
  });
});

describe('memory', () => {
  it('keeps the tensor count flat over 50 rounds of extract + generate + lag', async () => {
    const round = async (i: number) => {
      await engine.extract(`leak-${i}`, testImage(i));
      await engine.generate(
        { featuresId: `leak-${i}`, levels: [i % 7, (i + 3) % 7], samples: 2, seed: i, classIndex: i % 10, mask: i % 2 ? new Float32Array(SIZE * SIZE).fill(0.5) : undefined },
        () => {},
      );
      await engine.lag({ image: testImage(i), candidates: 3, seed: i, amplitude: (i % 3) / 2 });
      engine.dropFeatures(`leak-${i}`); // the UI's `dispose` message
    };
    await round(0);
    const after = engine.memory().numTensors;
    for (let i = 1; i < 50; i++) {
      await round(i);
      expect(engine.memory().numTensors, `after round ${i}`).toBe(after);
    }
  });
});
