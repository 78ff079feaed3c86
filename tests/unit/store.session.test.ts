// The store (src/state/) against an engine that answers when the test says so: inputs, links and engine events.
import { describe, expect, it } from 'vitest';
import { decodePermalink, encodePermalink } from '../../src/share/permalink';
import { toPermalinkState } from '../../src/state/store';
import { makeRgbaPng } from './helpers/png';
import { EngineError } from '../../src/engine/errors';
import { flush } from './helpers/fakeWorker';
import { setup, readyStore, startAndAnalyse, decodeOk } from './helpers/storeHarness';

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
