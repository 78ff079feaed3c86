import { describe, expect, it } from 'vitest';
import type { PackSummary, RgbaImage } from '../../src/engine/protocol';
import { decodePermalink, encodePermalink, type PermalinkState } from '../../src/share/permalink';
import {
  type EngineApi,
  type EngineEvent,
  type GenerateRequest,
  type InterpolateRequest,
  type LagRequest,
  type TimedLagResult,
  type LoadProgress,
} from '../../src/state/engineClient';
import {
  createPlaygroundStore,
  toPermalinkState,
  type PlaygroundEnv,
  type PreparedSource,
} from '../../src/state/store';
import { parsePackIndex, packCandidates } from '../../src/state/packIndex';
import { levelLabel, DEFAULT_LEVELS } from '../../src/engine/levels';
import { flush } from './helpers/fakeWorker';
import { makeRgbaPng } from './helpers/png';
import { img, makePack } from './helpers/storeFixtures';
import { EngineError } from '../../src/engine/errors';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** An engine that answers only when the test says so, with a catalogue of existing packs. */
class FakeEngine implements EngineApi {
  listener: ((event: EngineEvent) => void) | null = null;
  started: string[] = [];
  packs = new Map<string, PackSummary>();
  loads: string[] = [];
  extracts: Deferred<{ featuresId: string; probabilities: number[] }>[] = [];
  generates: {
    request: GenerateRequest;
    onRow: (level: number, images: RgbaImage[]) => void;
    done: Deferred<{ ms: number }>;
  }[] = [];
  lags: { request: LagRequest; done: Deferred<TimedLagResult> }[] = [];
  private nextFeatures = 1;

  start(backend: string) {
    this.started.push(backend);
  }
  subscribe(listener: (event: EngineEvent) => void) {
    this.listener = listener;
    return () => (this.listener = null);
  }
  async loadPack(packUrl: string, onProgress?: (p: LoadProgress) => void) {
    this.loads.push(packUrl);
    const id = packUrl.split('/')[1];
    const pack = this.packs.get(id);
    if (!pack) throw new EngineError('pack-not-found', `models/${id}/pack.json was not found`);
    onProgress?.({ stage: 'download', loaded: 500, total: 1000 });
    return { pack, fromCache: false };
  }
  extract() {
    const d = deferred<{ featuresId: string; probabilities: number[] }>();
    this.extracts.push(d);
    return d.promise;
  }
  answerExtract(probabilities = [0.1, 0.7, 0.2]) {
    this.extracts[this.extracts.length - 1].resolve({ featuresId: `f${this.nextFeatures++}`, probabilities });
  }
  generate(request: GenerateRequest, onRow: (level: number, images: RgbaImage[]) => void) {
    const previous = this.generates[this.generates.length - 1];
    previous?.done.reject(new EngineError('cancelled', 'superseded'));
    const done = deferred<{ ms: number }>();
    this.generates.push({ request, onRow, done });
    return done.promise;
  }
  lag(request: LagRequest) {
    const done = deferred<TimedLagResult>();
    this.lags.push({ request, done });
    return done.promise;
  }
  interpolations: { request: InterpolateRequest; done: Deferred<{ frames: RgbaImage[]; ms: number }> }[] = [];
  interpolate(request: InterpolateRequest) {
    const done = deferred<{ frames: RgbaImage[]; ms: number }>();
    this.interpolations.push({ request, done });
    return done.promise;
  }
  cancel() {
    // Stopping is covered by tests/unit/stop.test.ts, with an engine that holds its answers.
  }
  get lastGenerate() {
    return this.generates[this.generates.length - 1];
  }
}

function setup(options: { packs?: string[]; index?: unknown; samplesFail?: boolean } = {}) {
  const engine = new FakeEngine();
  for (const id of options.packs ?? ['cifar10']) engine.packs.set(id, makePack(id));
  const prepared: string[] = [];
  let seed = 1000;
  const source = (name: string, size: number, png = makeRgbaPng(size, size)): PreparedSource => ({
    name,
    originalUrl: `blob:${name}`,
    image: img(size, 7),
    png,
  });
  const env: PlaygroundEnv = {
    engine,
    packUrl: (id) => `models/${id}/pack.json`,
    fetchPackIndex: async () => {
      if (options.index === undefined) throw new Error('404');
      return options.index;
    },
    prepareFromBlob: async (blob, size, name) => {
      prepared.push(`blob:${name}@${size}`);
      if ((await blob.text()) === 'not an image') throw new Error('the file is not an image');
      return source(name, size);
    },
    prepareFromUrl: async (url, size, name) => {
      prepared.push(`url:${url}@${size}`);
      if (options.samplesFail) throw new Error('network error');
      return source(name, size);
    },
    prepareFromPng: async (png, size) => {
      prepared.push(`png@${size}`);
      return { ...source('link', size), originalUrl: null, png };
    },
    randomSeed: () => seed++,
    schedule: (task) => queueMicrotask(task),
    defaultSampleUrl: 'samples/ship.png',
  };
  const store = createPlaygroundStore(env);
  return { store, engine, prepared, get: () => store.getState() };
}

/** Startup with the default pack, the default sample analysed, and the first grid requested. */
async function readyStore(options: Parameters<typeof setup>[0] = {}) {
  const ctx = setup(options);
  await startAndAnalyse(ctx);
  return ctx;
}
async function startAndAnalyse(ctx: ReturnType<typeof setup>, link: PermalinkState | null = null) {
  const started = ctx.get().startup({ backend: 'auto', link });
  await flush();
  ctx.engine.answerExtract();
  await started;
  await flush();
}

describe('pack index', () => {
  it("accepts the lead's index format and ignores invalid entries", () => {
    expect(
      parsePackIndex({
        default: 'cifar10',
        packs: [{ id: 'cifar10', title: 'CIFAR-10', preview: true }, { id: '<bad>' }, 7],
      }),
    ).toEqual({
      defaultId: 'cifar10',
      packs: [{ id: 'cifar10', title: 'CIFAR-10', preview: true }],
    });
    expect(parsePackIndex(null)).toBeNull();
    expect(parsePackIndex({ packs: 'x' })).toBeNull();
    expect(parsePackIndex({ default: '../x', packs: [] })).toBeNull();
  });
  it('orders candidates: link, index default and indexed packs, else the fallbacks', () => {
    expect(packCandidates(null, null)).toEqual(['cifar10', 'cifar10-preview', 'tiny']);
    expect(packCandidates('tiny', null)).toEqual(['tiny', 'cifar10', 'cifar10-preview']);
    const index = {
      defaultId: 'b',
      packs: [
        { id: 'a', title: 'a', preview: false },
        { id: 'b', title: 'b', preview: false },
      ],
    };
    expect(packCandidates(null, index)).toEqual(['b', 'a']);
    expect(packCandidates('a', index)).toEqual(['a', 'b']);
  });
  it('labels the levels with stride and layer', () => {
    expect(DEFAULT_LEVELS.map(levelLabel)).toEqual([
      'stride 2 · pool1',
      'stride 4 · pool2',
      'stride 8 · pool3',
      'stride 16 · pool4',
      'stride 32 · pool5',
      'FC7',
      'FC8 · class',
    ]);
  });
});

describe('startup and packs', () => {
  it('falls back from missing packs to the first available one and opens the default sample', async () => {
    const { get, engine, prepared } = await readyStore({ packs: ['tiny'] });
    expect(engine.started).toEqual(['auto']);
    expect(engine.loads).toEqual([
      'models/cifar10/pack.json',
      'models/cifar10-preview/pack.json',
      'models/tiny/pack.json',
    ]);
    expect(get().packStatus.phase).toBe('ready');
    expect(get().pack?.id).toBe('tiny');
    expect(get().errors).toEqual([]); // missing packs are skipped quietly
    expect(prepared).toEqual(['url:samples/ship.png@32']);
    expect(get().prediction).toMatchObject({ classIndex: 1, confidence: 0.7 });
    expect(get().shareReady).toBe(true);
  });

  it('uses the index default when models/index.json exists', async () => {
    const { get, engine } = await readyStore({
      packs: ['cifar10', 'mine'],
      index: { default: 'mine', packs: [{ id: 'mine', title: 'Mine' }] },
    });
    expect(engine.loads).toEqual(['models/mine/pack.json']);
    expect(get().packIndex?.defaultId).toBe('mine');
  });

  it('reports a visible error when no pack can be loaded and stays usable', async () => {
    const { get } = setup({ packs: [] });
    await get().startup({ backend: 'auto', link: null });
    expect(get().packStatus.phase).toBe('error');
    expect(get().errors[0].message).toMatch(/No model pack could be loaded/);
    expect(get().shareReady).toBe(true);
    get().setLevel(4);
    expect(get().level).toBe(4);
  });
});

describe('generation', () => {
  it('requests the chosen level with the predicted class once the features exist', async () => {
    const { engine } = await readyStore();
    expect(engine.generates).toHaveLength(1);
    expect(engine.lastGenerate.request).toMatchObject({
      featuresId: 'f1',
      levels: [2],
      samples: 6,
      seed: 1,
      classIndex: 1,
    });
    expect(engine.lastGenerate.request.mask).toBeUndefined();
  });

  it('fills rows as they stream and marks the grid done', async () => {
    const { get, engine } = await readyStore();
    get().setCompare(true);
    await flush();
    const { request, onRow, done } = engine.lastGenerate;
    expect(request.levels).toEqual([0, 1, 2, 3, 4, 5, 6]);
    onRow(0, [img(32)]);
    expect(Object.keys(get().grid!.rows)).toEqual(['0']);
    expect(get().grid!.status).toBe('running');
    onRow(1, [img(32)]);
    done.resolve({ ms: 42 });
    await flush();
    expect(get().grid).toMatchObject({ status: 'done', ms: 42, levels: [0, 1, 2, 3, 4, 5, 6] });
    expect(Object.keys(get().grid!.rows)).toEqual(['0', '1']);
  });

  it('never shows rows of a superseded request under new settings', async () => {
    const { get, engine } = await readyStore();
    const stale = engine.lastGenerate;
    get().setSeed(99);
    await flush();
    expect(engine.generates).toHaveLength(2);
    expect(get().grid!.rows).toEqual({});
    stale.onRow(2, [img(32, 1)]);
    expect(get().grid!.rows).toEqual({});
    engine.lastGenerate.onRow(2, [img(32, 2)]);
    expect(get().grid!.rows[2]![0].data[0]).toBe(2);
    expect(get().errors).toEqual([]); // the cancelled request is not an error
  });

  it('coalesces a burst of changes into one request and skips requests whose result is already shown', async () => {
    const { get, engine } = await readyStore();
    get().setLevel(0);
    get().setSamples(3);
    get().setSeed(5);
    await flush();
    expect(engine.generates).toHaveLength(2);
    expect(engine.lastGenerate.request).toMatchObject({ levels: [0], samples: 3, seed: 5 });
    get().setLagAmplitude(0.9); // irrelevant to the Semantic Pyramid grid
    get().setLevel(0);
    await flush();
    expect(engine.generates).toHaveLength(2);
  });

  it('clamps settings to their ranges', async () => {
    const { get } = await readyStore();
    get().setSamples(40);
    get().setLevel(-3);
    get().setSeed(-1);
    get().setLagAmplitude(3);
    get().setLagCandidates(0);
    expect(get()).toMatchObject({ samples: 16, level: 0, seed: 0, lagAmplitude: 1, lagCandidates: 1 });
    get().setSeed(Number.NaN);
    expect(get().seed).toBe(0);
    get().setSeed(2 ** 40);
    expect(get().seed).toBe(0xffffffff);
  });

  it('re-rolls the seed and regenerates', async () => {
    const { get, engine } = await readyStore();
    get().rerollSeed();
    await flush();
    expect(get().seed).toBe(1000);
    expect(engine.lastGenerate.request.seed).toBe(1000);
  });

  it('uses the class override, and ignores classes the pack does not have', async () => {
    const { get, engine } = await readyStore();
    get().setClassOverride(2);
    await flush();
    expect(engine.lastGenerate.request.classIndex).toBe(2);
    get().setClassOverride(3);
    expect(get().classOverride).toBeNull();
    await flush();
    expect(engine.lastGenerate.request.classIndex).toBe(1);
  });

  it('sends the painted mask and refuses masks of the wrong size', async () => {
    const { get, engine } = await readyStore();
    const mask = new Float32Array(32 * 32).fill(1);
    get().setMask(mask);
    await flush();
    expect(engine.lastGenerate.request.mask).toBe(mask);
    const count = engine.generates.length;
    get().setMask(new Float32Array(10));
    await flush();
    expect(engine.generates).toHaveLength(count);
    expect(get().errors[0].message).toMatch(/mask/);
  });

  it('shows a generation failure as an error and marks the grid', async () => {
    const { get, engine } = await readyStore();
    engine.lastGenerate.done.reject(new EngineError('internal', 'shader failed'));
    await flush();
    expect(get().grid!.status).toBe('error');
    expect(get().errors.map((e) => e.message)).toEqual(['Generation failed: shader failed']);
  });

  it('runs LAG in LAG mode with the amplitude and candidate count', async () => {
    const { get, engine } = await readyStore();
    get().setMode('lag');
    get().setLagAmplitude(0.25);
    get().setLagCandidates(4);
    await flush();
    expect(engine.lags).toHaveLength(1);
    expect(engine.lags[0].request).toMatchObject({ candidates: 4, amplitude: 0.25, seed: 1 });
    const result = {
      lr: img(8),
      candidates: [img(32), img(32), img(32), img(32)],
      stdMap: img(32),
      maxStd: 0.2,
      ms: 5,
    };
    engine.lags[0].done.resolve(result);
    await flush();
    expect(get().lag).toMatchObject({ status: 'done', result });
  });

  it('re-runs the current request after the engine restarted', async () => {
    const { get, engine } = await readyStore();
    engine.lastGenerate.done.reject(new EngineError('restarted', 'restarted'));
    engine.listener!({ type: 'restarting', reason: 'crash', attempt: 1 });
    await flush();
    expect(get().errors).toEqual([]);
    expect(get().warnings[0].message).toMatch(/restarting/);
    engine.listener!({ type: 'restarted' });
    expect(engine.generates).toHaveLength(2);
  });
});

describe('inputs', () => {
  it('reports a file that is not an image and keeps the previous source', async () => {
    const { get } = await readyStore();
    const before = get().source;
    await get().openImageBlob(new Blob(['not an image']), 'notes.txt');
    expect(get().errors[0].message).toBe('Could not open "notes.txt": the file is not an image');
    expect(get().source).toBe(before);
    expect(get().sourceStatus).toBe('ready');
  });

  it('opens a dropped image: new features, new prediction, new grid', async () => {
    const { get, engine, prepared } = await readyStore();
    const opening = get().openImageBlob(new Blob(['png']), 'car.png');
    await flush();
    expect(get().sourceStatus).toBe('extracting');
    expect(get().grid).toBeNull();
    engine.answerExtract([0.9, 0.05, 0.05]);
    await opening;
    await flush();
    expect(prepared).toContain('blob:car.png@32');
    expect(get().prediction!.classIndex).toBe(0);
    expect(engine.lastGenerate.request).toMatchObject({ featuresId: 'f2', classIndex: 0 });
  });

  it('keeps a file dropped before the pack loaded and opens it afterwards', async () => {
    const ctx = setup();
    await ctx.get().openImageBlob(new Blob(['png']), 'early.png');
    expect(ctx.get().warnings[0].message).toMatch(/as soon as the model pack has loaded/);
    await startAndAnalyse(ctx);
    expect(ctx.prepared).toEqual(['blob:early.png@32']);
  });

  it('reports exceptions from the engine while analysing an image', async () => {
    const ctx = setup();
    const started = ctx.get().startup({ backend: 'auto', link: null });
    await flush();
    ctx.engine.extracts[0].reject(new EngineError('bad-input', 'image has the wrong size'));
    await started;
    expect(ctx.get().sourceStatus).toBe('error');
    expect(ctx.get().errors[0].message).toMatch(/wrong size/);
  });
});

describe('links', () => {
  it('round-trips the store state through the permalink', async () => {
    const { get } = await readyStore();
    get().setMode('lag');
    get().setLevel(5);
    get().setCompare(true);
    get().setSeed(123456);
    get().setSamples(9);
    get().setClassOverride(2);
    get().setLagAmplitude(0.3);
    get().setLagCandidates(12);
    const mask = new Float32Array(32 * 32);
    mask.fill(1, 0, 100);
    get().setMask(mask);
    const hash = encodePermalink(toPermalinkState(get()));
    const decoded = decodePermalink(hash, { expectedImageSize: 32 });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.state).toMatchObject({
      packId: 'cifar10',
      mode: 'lag',
      level: 5,
      compare: true,
      seed: 123456,
      samples: 9,
      classIndex: 2,
      lagAmplitude: 0.3,
      lagCandidates: 12,
    });
    expect(decoded.state.mask).toEqual(mask);
    expect(decoded.state.imagePng).toEqual(get().source!.png);
    expect(decoded.state.packDigest).toBe(get().pack!.digest);
  });

  it('applies a link at startup: settings, its pack, its image and mask', async () => {
    const ctx = setup({ packs: ['cifar10', 'tiny'] });
    const png = makeRgbaPng(32, 32);
    const mask = new Float32Array(32 * 32).fill(1);
    const link = {
      ...decodeOk(`v=1&pack=tiny&digest=${'4'.padEnd(64, 'a')}&level=4&seed=77&n=2&class=0`),
      imagePng: png,
      mask,
    };
    await startAndAnalyse(ctx, link);
    expect(ctx.engine.loads).toEqual(['models/tiny/pack.json']);
    expect(ctx.prepared).toEqual(['png@32']);
    expect(ctx.get().source!.png).toBe(png);
    expect(ctx.get().mask).toBe(mask);
    expect(ctx.engine.lastGenerate.request).toMatchObject({ levels: [4], seed: 77, samples: 2, classIndex: 0, mask });
    expect(ctx.get().warnings).toEqual([]);
  });

  it('opens a link made with other weights with a visible warning and still runs', async () => {
    const ctx = setup();
    await startAndAnalyse(ctx, decodeOk(`v=1&pack=cifar10&digest=${'f'.repeat(64)}&level=1`));
    expect(
      ctx
        .get()
        .warnings.map((w) => w.message)
        .join(' '),
    ).toMatch(/different weights/);
    expect(ctx.engine.lastGenerate.request.levels).toEqual([1]);
  });

  it('drops the parts of a link the pack cannot use, with an error, and runs the rest', async () => {
    const ctx = setup();
    const link = { ...decodeOk(`v=1&digest=${'7'.padEnd(64, 'a')}&class=7&level=3`), imagePng: makeRgbaPng(64, 64) };
    await startAndAnalyse(ctx, link);
    const messages = ctx
      .get()
      .errors.map((e) => e.message)
      .join(' ');
    expect(messages).toMatch(/class 7 does not exist/);
    expect(messages).toMatch(/64×64/);
    expect(ctx.get().classOverride).toBeNull();
    expect(ctx.prepared).toEqual(['url:samples/ship.png@32']);
    expect(ctx.engine.lastGenerate.request).toMatchObject({ levels: [3], classIndex: 1 });
  });

  it('applies a link pasted later into the address bar', async () => {
    const { get, engine } = await readyStore();
    await get().applyLink(decodeOk(`v=1&digest=${'7'.padEnd(64, 'a')}&level=6&seed=3`));
    await flush();
    expect(engine.lastGenerate.request).toMatchObject({ levels: [6], seed: 3 });
  });
});

describe('engine events', () => {
  it('shows the backend, fallbacks and a lost GPU', async () => {
    const { get, engine } = await readyStore();
    engine.listener!({
      type: 'ready',
      backend: 'wasm',
      detail: 'WASM SIMD',
      fellBackFrom: 'webgpu',
      reason: 'software adapter',
    });
    expect(get().backend).toMatchObject({ active: 'wasm', detail: 'WASM SIMD (not webgpu: software adapter)' });
    expect(get().warnings).toEqual([]); // automatic choice: falling back is normal
    engine.listener!({ type: 'error', code: 'device-lost', message: 'context lost' });
    engine.listener!({ type: 'backendChanged', backend: 'cpu', reason: 'WebGL context lost' });
    expect(get().errors.at(-1)!.message).toBe('The GPU was lost: context lost');
    expect(get().backend.active).toBe('cpu');
  });

  it('notes when a forced backend could not start', async () => {
    const ctx = setup();
    const started = ctx.get().startup({ backend: 'webgpu', link: null });
    expect(ctx.engine.started).toEqual(['webgpu']);
    ctx.engine.listener!({
      type: 'ready',
      backend: 'wasm',
      detail: 'WASM SIMD',
      fellBackFrom: 'webgpu',
      reason: 'no adapter',
    });
    expect(ctx.get().warnings.at(-1)!.message).toBe('webgpu is not available here (no adapter); running on wasm.');
    await flush();
    ctx.engine.answerExtract();
    await started;
  });

  it('dismisses notices and does not repeat the same message', async () => {
    const { get } = await readyStore();
    get().reportError('input', 'Clipboard holds text');
    get().reportError('input', 'Clipboard holds text');
    expect(get().errors).toHaveLength(1);
    get().dismissNotice(get().errors[0].id);
    expect(get().errors).toEqual([]);
  });
});

function decodeOk(hash: string) {
  const result = decodePermalink(hash);
  if (!result.ok) throw new Error(result.error.message);
  return result.state;
}
