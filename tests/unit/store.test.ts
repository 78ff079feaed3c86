// The store (src/state/) against an engine that answers when the test says so: the pack index, start-up and packs,
// and generation. Inputs, links and engine events: store.session.test.ts.
import { describe, expect, it } from 'vitest';
import { parsePackIndex, packCandidates } from '../../src/state/packIndex';
import { levelLabel, DEFAULT_LEVELS } from '../../src/engine/levels';
import { img } from './helpers/storeFixtures';
import { EngineError } from '../../src/engine/errors';
import { flush } from './helpers/fakeWorker';
import { setup, readyStore } from './helpers/storeHarness';

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
