// The pack slice with packs opened from files: a refused pack leaves the current one ready, an accepted one is kept
// by digest and found again by a new store (a reload), a link to a kept pack opens it, and a link to a pack that is
// not here waits for it (keeping the address) and is applied once it is opened. The engine is a stand-in that
// accepts or refuses; the engine's real checks on files are in tests/engine/packFromFiles.test.ts.
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors';
import type { KeptPackInfo, KeptPackStore } from '../../src/engine/packStore';
import type { LoadProgress, PackSource, PackSummary } from '../../src/engine/protocol';
import { type PermalinkState, DEFAULT_PERMALINK_STATE } from '../../src/share/permalink';
import type { EngineApi, EngineEvent } from '../../src/state/engineClient';
import type { PackFileSet } from '../../src/state/packFiles';
import { createPlaygroundStore, toPermalinkState, type PlaygroundEnv } from '../../src/state/store';
import { flush } from './helpers/fakeWorker';
import { makeRgbaPng } from './helpers/png';
import { img, makePack } from './helpers/storeFixtures';

const OPENED = makePack('mine64', { title: 'My 64 px pack', digest: 'c'.repeat(64), imageSize: 64 });

/** Answers at once: bundled packs by id, opened packs by their pack.json's digest; "broken" files are refused. */
class InstantEngine implements EngineApi {
  bundled = new Map<string, PackSummary>([['cifar10', makePack('cifar10')]]);
  opened = new Map<string, PackSummary>([[OPENED.digest, OPENED]]);
  loads: string[] = [];
  start() {}
  subscribe(listener: (event: EngineEvent) => void) {
    void listener;
    return () => {};
  }
  async loadPack({ packUrl, files }: PackSource, onProgress?: (p: LoadProgress) => void) {
    this.loads.push(packUrl);
    onProgress?.({ stage: 'manifest', loaded: 0, total: 1 });
    if (files) {
      if (files['sp.shard1of1.bin']?.[0] === 0xff)
        throw new EngineError('pack-checksum', 'shard sp.shard1of1.bin is corrupted', 'sp.shard1of1.bin');
      const digest = new TextDecoder().decode(files['pack.json']);
      const pack = this.opened.get(digest);
      if (!pack) throw new EngineError('pack-format', 'pack.json digest does not match its shards list');
      return { pack, fromCache: false };
    }
    const pack = this.bundled.get(packUrl.split('/')[1]);
    if (!pack) throw new EngineError('pack-not-found', `${packUrl} answered HTTP 404`);
    return { pack, fromCache: false };
  }
  async extract() {
    return { featuresId: 'f', probabilities: [0.2, 0.5, 0.3] };
  }
  generate() {
    return new Promise<{ ms: number }>(() => {});
  }
  lag() {
    return new Promise<never>(() => {});
  }
  interpolate() {
    return new Promise<never>(() => {});
  }
  cancel() {}
}

/** Kept packs in memory, shared by the stores of one test as Cache Storage is shared by reloads. */
class MemoryKeptStore implements KeptPackStore {
  packs = new Map<string, { info: KeptPackInfo; files: Record<string, Uint8Array> }>();
  async list() {
    return [...this.packs.values()].map((p) => p.info);
  }
  async put(info: KeptPackInfo, files: Record<string, Uint8Array>) {
    this.packs.set(info.digest, { info, files });
  }
  async get(digest: string) {
    return this.packs.get(digest)?.files;
  }
  async remove(digest: string) {
    this.packs.delete(digest);
  }
}

function openedFiles(digest = OPENED.digest, spFirstByte = 0): PackFileSet {
  return {
    label: 'mine64',
    files: { 'pack.json': new TextEncoder().encode(digest), 'sp.shard1of1.bin': new Uint8Array([spFirstByte, 1, 2]) },
  };
}

function makeStore(kept: MemoryKeptStore | null, engine = new InstantEngine()) {
  const persistAsked: number[] = [];
  const prepared: string[] = [];
  const source = (name: string, size: number) => ({
    name,
    originalUrl: `blob:${name}`,
    image: img(size, 7),
    png: makeRgbaPng(size, size),
  });
  const env: PlaygroundEnv = {
    engine,
    packUrl: (id) => `models/${id}/pack.json`,
    fetchPackIndex: async () => ({
      default: 'cifar10',
      packs: [{ id: 'cifar10', title: 'CIFAR-10', digest: makePack('cifar10').digest }],
    }),
    prepareFromBlob: async (blob, size, name) => {
      prepared.push(`blob:${name}:${blob.type}@${size}`);
      return source(name, size);
    },
    prepareFromUrl: async (_url, size, name) => source(name, size),
    prepareFromPng: async (png, size) => {
      prepared.push(`png@${size}`);
      return { ...source('link', size), originalUrl: null, png };
    },
    randomSeed: () => 5,
    schedule: (task) => queueMicrotask(task),
    defaultSampleUrl: 'samples/ship.png',
    openKeptPacks: async () => kept,
    askPersistentStorage: async () => void persistAsked.push(1),
  };
  const store = createPlaygroundStore(env);
  return { store, engine, get: () => store.getState(), persistAsked, prepared };
}

async function started(kept: MemoryKeptStore | null, link: PermalinkState | null = null) {
  const ctx = makeStore(kept);
  await ctx.get().startup({ backend: 'auto', link });
  await flush();
  return ctx;
}

describe('packs opened from files', () => {
  it('loads an accepted pack, keeps it by digest with its size, and asks for persistent storage', async () => {
    const kept = new MemoryKeptStore();
    const { get, persistAsked } = await started(kept);
    expect(get().pack?.id).toBe('cifar10');
    expect(await get().openPackFiles(openedFiles())).toBe(true);
    expect(get().packStatus).toMatchObject({ phase: 'ready', packId: 'mine64' });
    expect(get().pack?.imageSize).toBe(64);
    expect(get().source?.image.width).toBe(64);
    expect(get().packOrigin).toEqual({ kind: 'opened', digest: OPENED.digest });
    expect(get().keptPacks).toEqual([
      expect.objectContaining({ digest: OPENED.digest, title: 'My 64 px pack', imageSize: 64, bytes: 64 + 3 }),
    ]);
    expect(persistAsked.length).toBe(1);
  });

  it('a refused pack leaves the current pack ready and says what is wrong; nothing is kept', async () => {
    const kept = new MemoryKeptStore();
    const { get } = await started(kept);
    const before = get().pack;
    expect(await get().openPackFiles(openedFiles(OPENED.digest, 0xff))).toBe(false);
    expect(get().pack).toBe(before);
    expect(get().packStatus).toMatchObject({ phase: 'ready', packId: 'cifar10' });
    expect(get().errors.map((e) => e.message)).toEqual([
      'The pack "mine64" was not opened: shard sp.shard1of1.bin is corrupted. "cifar10 pack" is still loaded.',
    ]);
    expect(get().keptPacks).toEqual([]);
    expect(kept.packs.size).toBe(0);
  });

  it('a new store (a reload) lists the kept pack; choosing it loads it from the kept files; Remove forgets it', async () => {
    const kept = new MemoryKeptStore();
    await (await started(kept)).get().openPackFiles(openedFiles());
    const { get, engine } = await started(kept);
    expect(get().keptPacks.map((p) => p.title)).toEqual(['My 64 px pack']);
    expect(await get().openKeptPack(OPENED.digest)).toBe(true);
    expect(get().pack?.id).toBe('mine64');
    expect(engine.loads.at(-1)).toBe('opened:My 64 px pack');
    await get().removeKeptPack(OPENED.digest);
    expect(get().keptPacks).toEqual([]);
    expect(get().pack?.id).toBe('mine64'); // still loaded for this visit
    expect(await get().openKeptPack(OPENED.digest)).toBe(false);
    expect(get().errors.at(-1)?.message).toMatch(/no longer stored here; open its folder or zip again/);
  });

  it('without a kept-pack store an opened pack still loads, with a note that it is not kept', async () => {
    const { get } = await started(null);
    expect(await get().openPackFiles(openedFiles())).toBe(true);
    expect(get().warnings.map((w) => w.message)).toEqual([expect.stringMatching(/no storage to keep it/)]);
  });

  it('a link to a kept pack opens that pack at startup and applies the link image', async () => {
    const kept = new MemoryKeptStore();
    await (await started(kept)).get().openPackFiles(openedFiles());
    const link: PermalinkState = {
      ...DEFAULT_PERMALINK_STATE,
      packId: 'mine64',
      packDigest: OPENED.digest,
      seed: 42,
      imagePng: makeRgbaPng(64, 64),
    };
    const { get, prepared } = await started(kept, link);
    expect(get().pack?.id).toBe('mine64');
    expect(get().seed).toBe(42);
    expect(prepared).toEqual(['png@64']);
    expect(get().packNeeded).toBeNull();
    expect(get().shareReady).toBe(true);

    // Switching to the 32 px bundled pack resizes the link's image (it has no original to go back to).
    await get().loadPack('cifar10');
    expect(get().pack?.id).toBe('cifar10');
    expect(prepared).toEqual(['png@64', 'blob:link:image/png@32']);
    expect(get().source?.image.width).toBe(32);
  });

  it('a link to a pack that is not here waits for it, keeps the address, and is applied once it is opened', async () => {
    const link: PermalinkState = {
      ...DEFAULT_PERMALINK_STATE,
      packId: 'mine64',
      packDigest: OPENED.digest,
      seed: 42,
      imagePng: makeRgbaPng(64, 64),
    };
    const { get, prepared } = await started(new MemoryKeptStore(), link);
    expect(get().pack?.id).toBe('cifar10');
    expect(get().packNeeded).toEqual({ id: 'mine64', digest: OPENED.digest, title: null });
    expect(get().shareReady).toBe(false); // the address keeps the link meanwhile
    // Meanwhile the link runs on the bundled pack, saying so; its 64 px image does not fit that pack.
    expect(get().seed).toBe(42);
    expect(get().warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/made with different weights/),
      expect.stringMatching(/asked for pack "mine64", which is not available/),
    ]);
    expect(get().errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/its image is 64×64 but this pack works at 32×32/),
    ]);
    expect(prepared).toEqual([]);

    expect(await get().openPackFiles(openedFiles())).toBe(true);
    expect(get().packNeeded).toBeNull();
    expect(get().warnings).toEqual([]);
    expect(get().errors).toEqual([]);
    expect(prepared).toEqual(['png@64']);
    expect(get().seed).toBe(42);
    expect(get().shareReady).toBe(true);
    expect(toPermalinkState(get())).toMatchObject({
      packId: 'mine64',
      packDigest: OPENED.digest,
      seed: 42,
    });
  });

  it('dismissing the request keeps the current pack and lets the address follow the app again', async () => {
    const link: PermalinkState = { ...DEFAULT_PERMALINK_STATE, packId: 'mine64', packDigest: 'c'.repeat(16) };
    const { get } = await started(new MemoryKeptStore(), link);
    expect(get().packNeeded).not.toBeNull();
    get().dismissPackNeeded();
    expect(get().packNeeded).toBeNull();
    expect(get().shareReady).toBe(true);
  });
});
