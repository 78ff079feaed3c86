// Reliability in the store (Node, fake engine): a grid never outlives its settings, input notes are shown, pack
// failures name their file and stay visible after a fallback pack loads.
import { describe, expect, it } from 'vitest';
import type { PackSummary } from '../../src/engine/protocol';
import { type EngineApi, type GenerateRequest } from '../../src/state/engineClient';
import { createPlaygroundStore, type PlaygroundEnv, type PreparedSource } from '../../src/state/store';
import { flush } from './helpers/fakeWorker';
import { makeRgbaPng } from './helpers/png';
import { img, makePack } from './helpers/storeFixtures';
import { EngineError } from '../../src/engine/errors';

/** An engine whose packs either load or fail with a given error; generation answers at once with one row. */
function setup(options: { packs: Record<string, PackSummary | Error>; index?: unknown; notes?: string[] }) {
  const generates: GenerateRequest[] = [];
  const engine: EngineApi = {
    start() {},
    subscribe: () => () => {},
    async loadPack({ packUrl: url }) {
      const id = url.split('/')[1];
      const entry = options.packs[id];
      if (!entry) throw new EngineError('pack-not-found', `${url} answered HTTP 404`, 'pack.json');
      if (entry instanceof Error) throw entry;
      return { pack: entry, fromCache: false };
    },
    extract: async () => ({ featuresId: 'f1', probabilities: [0.2, 0.5, 0.3] }),
    async generate(request, onRow) {
      generates.push(request);
      for (const level of request.levels)
        onRow(
          level,
          Array.from({ length: request.samples }, () => img(32)),
        );
      return { ms: 1 };
    },
    lag: async () => ({ lr: img(8), candidates: [img(32)], stdMap: img(32), maxStd: 0, ms: 1 }),
    interpolate: async (request) => ({ frames: Array.from({ length: request.frames }, () => img(32)), ms: 1 }),
    cancel() {},
  };
  const scheduled: (() => void)[] = [];
  const source = (name: string): PreparedSource => ({
    name,
    originalUrl: `blob:${name}`,
    image: img(32),
    png: makeRgbaPng(32, 32),
    ...(options.notes ? { notes: options.notes } : {}),
  });
  const env: PlaygroundEnv = {
    engine,
    packUrl: (id) => `models/${id}/pack.json`,
    fetchPackIndex: async () => {
      if (options.index === undefined) throw new Error('404');
      return options.index;
    },
    prepareFromBlob: async (_blob, _size, name) => source(name),
    prepareFromUrl: async (_url, _size, name) => source(name),
    prepareFromPng: async () => source('link'),
    randomSeed: () => 5,
    schedule: (task) => scheduled.push(task),
    defaultSampleUrl: 'samples/ship.png',
  };
  const store = createPlaygroundStore(env);
  const runScheduled = () => scheduled.splice(0).forEach((task) => task());
  return { store, get: () => store.getState(), generates, runScheduled };
}

describe('reliability in the store', () => {
  it('a finished grid leaves the screen in the same update as a level change, before the new request starts', async () => {
    const { get, generates, runScheduled } = setup({ packs: { cifar10: makePack('cifar10') } });
    await get().startup({ backend: 'auto', link: null });
    await flush();
    expect(get().grid).toMatchObject({ levels: [2], status: 'done' });
    expect(Object.keys(get().grid!.rows)).toEqual(['2']);
    get().setLevel(5);
    // Nothing requested yet (the burst has not settled), but no row of level 2 is left under level 5.
    expect(generates).toHaveLength(1);
    expect(get().grid).toMatchObject({ levels: [5], rows: {}, status: 'running' });
    runScheduled();
    await flush();
    expect(generates.map((g) => g.levels)).toEqual([[2], [5]]);
    expect(get().grid).toMatchObject({ levels: [5], status: 'done' });
    // Setting the value it already has keeps the grid (no duplicate work).
    get().setLevel(5);
    runScheduled();
    await flush();
    expect(generates).toHaveLength(2);
    expect(get().grid?.status).toBe('done');
  });

  it('shows the notes of an opened image, and the notes of how it was chosen, after it opens', async () => {
    const { get } = setup({ packs: { cifar10: makePack('cifar10') }, notes: ['"x.png" is only 1×1 pixels…'] });
    await get().startup({ backend: 'auto', link: null });
    await flush();
    await get().openImageBlob(new Blob(['x']), 'x.png', ['3 items were dropped; only "x.png" was opened']);
    await flush();
    expect(get().warnings.map((w) => w.message)).toEqual(
      expect.arrayContaining(['"x.png" is only 1×1 pixels…', '3 items were dropped; only "x.png" was opened']),
    );
    expect(get().errors).toEqual([]);
  });

  it('names the file of a pack failure and keeps it visible once the next pack has loaded', async () => {
    const broken = new EngineError('pack-shape', 'weight vgg.conv1_1.kernel has shape [3, 3, 4, 3]', 'pack.json');
    const { get } = setup({
      packs: { tiny: broken, cifar10: makePack('cifar10') },
      index: { default: 'gone', packs: [{ id: 'gone' }, { id: 'tiny' }, { id: 'cifar10' }] },
    });
    await get().startup({ backend: 'auto', link: null });
    await flush();
    expect(get().pack?.id).toBe('cifar10');
    expect(get().errors.map((e) => e.message)).toEqual([
      'The model pack "tiny" is broken: weight vgg.conv1_1.kernel has shape [3, 3, 4, 3] (in pack.json)',
    ]);
    expect(get().warnings.map((w) => w.message)).toEqual([
      'The model pack "gone" could not be found (models/gone/pack.json answered HTTP 404); another pack is used.',
    ]);
  });

  it('a file named in the message is not repeated', async () => {
    const { get } = setup({
      packs: { cifar10: new EngineError('pack-checksum', 'shard sp.shard1of1.bin is corrupted', 'sp.shard1of1.bin') },
    });
    await get().startup({ backend: 'auto', link: null });
    await flush();
    expect(get().errors[0].message).toBe('The model pack "cifar10" is broken: shard sp.shard1of1.bin is corrupted');
  });
});
