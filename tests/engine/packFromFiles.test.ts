// A pack opened as files (tests/fixtures/tiny64, a 64 px pack written by scripts/export.py) through the worker's
// message protocol on cpu: it loads with the same checks as a bundled pack, generates 64 px samples and LAG
// candidates from a 16 px input, and a damaged copy is refused with the file named while the loaded pack keeps working.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FromWorker, RgbaImage } from '../../src/engine/protocol';
import { WorkerHost } from '../../src/engine/workerHost';
import { REPO_ROOT } from './helpers/fixtures';

const SIZE = 64;
const PACK_DIR = join(REPO_ROOT, 'tests/fixtures/tiny64');
const TINY128_DIR = join(REPO_ROOT, 'tests/fixtures/tiny128');

function packFiles(dir = PACK_DIR): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) {
    if (name === 'pack.json' || /\.shard\d+of\d+\.bin$/.test(name))
      files[name] = new Uint8Array(readFileSync(join(dir, name)));
  }
  return files;
}

function gradient(size = SIZE): RgbaImage {
  const data = new Uint8ClampedArray(size * size * 4);
  for (let i = 0; i < size * size; i++) data.set([(i % size) * 2, Math.floor(i / size) * 2, 128, 255], i * 4);
  return { width: size, height: size, data };
}

let messages: FromWorker[];
let host: WorkerHost;
let nextId = 1;

async function send(message: Record<string, unknown> & { type: string }): Promise<FromWorker[]> {
  const requestId = nextId++;
  await host.receive({ ...message, requestId } as never);
  return messages.filter((m) => 'requestId' in m && m.requestId === requestId);
}

beforeAll(async () => {
  messages = [];
  // No fetch and no cache: everything the pack needs must come from its files.
  host = new WorkerHost((m) => messages.push(m), {
    store: null,
    fetch: () => Promise.reject(new Error('a pack from files must not fetch')),
  });
  await host.receive({ type: 'init', backend: 'cpu' });
});

describe('a 64 px pack opened as files', () => {
  it('loads with its size, levels and LAG scale, and generates 64 px samples for every level', async () => {
    const load = await send({ type: 'loadPack', packUrl: 'opened:tiny64', files: packFiles() });
    const loaded = load.at(-1);
    expect(loaded).toMatchObject({
      type: 'packLoaded',
      fromCache: false,
      pack: { id: 'tiny64', imageSize: 64, lag: { scale: 4, lrSize: 16 } },
    });
    const pack = (loaded as Extract<FromWorker, { type: 'packLoaded' }>).pack;
    expect(pack.levels.map((l) => l.size)).toEqual([32, 16, 8, 4, 2, null, null]);

    const extracted = await send({ type: 'extract', featuresId: 'g', image: gradient() });
    expect(extracted.at(-1)).toMatchObject({ type: 'extracted', featuresId: 'g' });
    const generated = await send({
      type: 'generate',
      featuresId: 'g',
      levels: [0, 1, 2, 3, 4, 5, 6],
      samples: 2,
      seed: 7,
      classIndex: 3,
    });
    const rows = generated.filter((m) => m.type === 'row') as Extract<FromWorker, { type: 'row' }>[];
    expect(rows.map((r) => r.level)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const row of rows) {
      expect(row.images).toHaveLength(2);
      for (const image of row.images) {
        expect([image.width, image.height, image.data.length]).toEqual([SIZE, SIZE, SIZE * SIZE * 4]);
      }
    }
    // Random weights still give different images for different noise (the generator is not a constant).
    expect(Buffer.from(rows[6].images[0].data).equals(Buffer.from(rows[6].images[1].data))).toBe(false);
    expect(generated.at(-1)).toMatchObject({ type: 'generated' });

    const lag = await send({ type: 'lag', image: gradient(), candidates: 3, seed: 2, amplitude: 1 });
    const result = lag.at(-1) as Extract<FromWorker, { type: 'lagResult' }>;
    expect(result.type).toBe('lagResult');
    expect([result.lr.width, result.lr.height]).toEqual([16, 16]);
    expect(result.candidates.map((c) => c.width)).toEqual([SIZE, SIZE, SIZE]);
  });

  it('refuses a copy with one flipped byte in a shard, naming it, and the loaded pack keeps generating', async () => {
    const files = packFiles();
    files['sp.shard1of1.bin'][100] ^= 0x01;
    const refused = await send({ type: 'loadPack', packUrl: 'opened:tiny64-flipped', files });
    expect(refused.at(-1)).toMatchObject({ type: 'error', code: 'pack-checksum', file: 'sp.shard1of1.bin' });
    expect((refused.at(-1) as { message: string }).message).toMatch(/sp\.shard1of1\.bin is corrupted/);

    const generated = await send({
      type: 'generate',
      featuresId: 'g',
      levels: [2],
      samples: 1,
      seed: 7,
      classIndex: 3,
    });
    expect(generated.map((m) => m.type)).toEqual(['row', 'generated']);
  });

  it('refuses a copy without a shard, naming it', async () => {
    const files = packFiles();
    delete files['lag.shard1of1.bin'];
    const refused = await send({ type: 'loadPack', packUrl: 'opened:tiny64-missing', files });
    expect(refused.at(-1)).toMatchObject({ type: 'error', code: 'pack-shard-missing', file: 'lag.shard1of1.bin' });
  });
});

describe('a 128 px pack opened as files', () => {
  it('loads the 128 px test pack (tests/fixtures/tiny128) and generates 128 px samples and LAG candidates from a 16 px input', async () => {
    const load = await send({ type: 'loadPack', packUrl: 'opened:tiny128', files: packFiles(TINY128_DIR) });
    expect(load.at(-1)).toMatchObject({
      type: 'packLoaded',
      pack: { id: 'tiny128', imageSize: 128, lag: { scale: 8, lrSize: 16 } },
    });
    await send({ type: 'extract', featuresId: 'g128', image: gradient(128) });
    const generated = await send({
      type: 'generate',
      featuresId: 'g128',
      levels: [0, 4, 6],
      samples: 1,
      seed: 3,
      classIndex: 0,
    });
    const rows = generated.filter((m) => m.type === 'row') as Extract<FromWorker, { type: 'row' }>[];
    expect(rows.map((r) => [r.level, r.images[0].width, r.images[0].height])).toEqual([
      [0, 128, 128],
      [4, 128, 128],
      [6, 128, 128],
    ]);
    const lag = (await send({ type: 'lag', image: gradient(128), candidates: 2, seed: 2, amplitude: 1 })).at(
      -1,
    ) as Extract<FromWorker, { type: 'lagResult' }>;
    expect([lag.lr.width, lag.candidates[0].width]).toEqual([16, 128]);
  });
});
