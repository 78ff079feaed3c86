// Stopping, through the store and the real EngineClient over a Worker double: the worker is told to `cancel` the
// running request, the grid keeps only its finished rows, a stopped pack load keeps the pack in use (or offers to
// load again), and nothing re-runs until a person asks for it.
import { describe, expect, it } from 'vitest';
import { EngineClient } from '../../src/state/engineClient';
import { isStoppable } from '../../src/state/slices/runs';
import { createPlaygroundStore, type PlaygroundEnv, type PreparedSource } from '../../src/state/store';
import { FakeWorker, flush } from './helpers/fakeWorker';
import { makeRgbaPng } from './helpers/png';
import { img, makePack } from './helpers/storeFixtures';

function setup() {
  const workers: FakeWorker[] = [];
  const engine = new EngineClient(() => {
    const worker = new FakeWorker();
    workers.push(worker);
    return worker;
  });
  const source = (name: string): PreparedSource => ({
    name,
    originalUrl: null,
    image: img(32, 7),
    png: makeRgbaPng(32, 32),
  });
  const env: PlaygroundEnv = {
    engine,
    packUrl: (id) => `models/${id}/pack.json`,
    fetchPackIndex: async () => {
      throw new Error('404');
    },
    prepareFromBlob: async (_blob, _size, name) => source(name),
    prepareFromUrl: async (_url, _size, name) => source(name),
    prepareFromPng: async () => source('link'),
    randomSeed: () => 5,
    schedule: (task) => queueMicrotask(task),
    defaultSampleUrl: 'samples/ship.png',
  };
  const store = createPlaygroundStore(env);
  return { store, worker: () => workers[workers.length - 1], get: () => store.getState() };
}

/** Starts up, answers the pack load and the extraction; the first grid request is then in the worker. */
async function ready(ctx: ReturnType<typeof setup>) {
  const started = ctx.get().startup({ backend: 'cpu', link: null });
  await flush();
  const load = ctx.worker().last('loadPack');
  ctx.worker().reply({ type: 'packLoaded', requestId: load.requestId, pack: makePack('cifar10'), fromCache: true });
  await flush();
  const extract = ctx.worker().last('extract');
  ctx.worker().reply({
    type: 'extracted',
    requestId: extract.requestId,
    featuresId: extract.featuresId,
    probabilities: [0.1, 0.8, 0.1],
  });
  await started;
  await flush();
}

describe('stop', () => {
  it('stops a compare grid: the worker gets `cancel`, finished rows stay, unfinished ones leave, no re-run', async () => {
    const ctx = setup();
    await ready(ctx);
    expect(ctx.get().packStatus).toMatchObject({ phase: 'ready', fromCache: true });
    ctx.get().setCompare(true);
    await flush();
    const generate = ctx.worker().last('generate');
    expect(generate.levels).toHaveLength(7);
    ctx.worker().reply({
      type: 'row',
      requestId: generate.requestId,
      level: 0,
      images: [img(32), img(32), img(32), img(32), img(32), img(32)],
    });
    expect(isStoppable(ctx.get())).toBe(true);
    ctx.get().stop();
    expect(ctx.worker().last('cancel')).toEqual({ type: 'cancel', requestId: generate.requestId });
    expect(ctx.get().grid).toMatchObject({ status: 'stopped', levels: [0] });
    expect(isStoppable(ctx.get())).toBe(false);
    // A late row of the stopped request is dropped; the cancelled answer is no error.
    ctx.worker().reply({ type: 'row', requestId: generate.requestId, level: 1, images: [img(32)] });
    ctx.worker().reply({ type: 'error', requestId: generate.requestId, code: 'cancelled', message: 'cancelled' });
    await flush();
    expect(Object.keys(ctx.get().grid!.rows)).toEqual(['0']);
    expect(ctx.get().errors).toEqual([]);
    const generatesBefore = ctx.worker().all('generate').length;
    await flush();
    expect(ctx.worker().all('generate')).toHaveLength(generatesBefore);
    ctx.get().runAgain();
    expect(ctx.worker().all('generate')).toHaveLength(generatesBefore + 1);
    expect(ctx.get().grid).toMatchObject({ status: 'running', levels: [0, 1, 2, 3, 4, 5, 6] });
  });

  it('stops a LAG run', async () => {
    const ctx = setup();
    await ready(ctx);
    ctx.get().setMode('lag');
    await flush();
    const lag = ctx.worker().last('lag');
    ctx.get().stop();
    expect(ctx.worker().last('cancel')).toEqual({ type: 'cancel', requestId: lag.requestId });
    expect(ctx.get().lag).toMatchObject({ status: 'stopped', result: null });
  });

  it('stops the first pack load: no pack, a state that offers to load again; loading again works', async () => {
    const ctx = setup();
    const started = ctx.get().startup({ backend: 'cpu', link: null });
    await flush();
    const load = ctx.worker().last('loadPack');
    ctx.worker().reply({ type: 'progress', requestId: load.requestId, stage: 'download', loaded: 10, total: 100 });
    expect(ctx.get().packStatus).toMatchObject({ phase: 'loading', stage: 'download' });
    ctx.get().stop();
    await started;
    expect(ctx.worker().last('cancel')).toEqual({ type: 'cancel', requestId: load.requestId });
    expect(ctx.get().packStatus).toMatchObject({ phase: 'error', packId: 'cifar10', message: 'Loading was stopped.' });
    expect(ctx.get().errors).toEqual([]);
    const again = ctx.get().loadPack('cifar10');
    await flush();
    const second = ctx.worker().last('loadPack');
    expect(second.requestId).not.toBe(load.requestId);
    ctx
      .worker()
      .reply({ type: 'packLoaded', requestId: second.requestId, pack: makePack('cifar10'), fromCache: false });
    await flush();
    expect(ctx.get().packStatus).toMatchObject({ phase: 'ready', fromCache: false });
    const extract = ctx.worker().last('extract');
    ctx.worker().reply({
      type: 'extracted',
      requestId: extract.requestId,
      featuresId: extract.featuresId,
      probabilities: [0.1, 0.8, 0.1],
    });
    await again;
  });

  it('stopping a switch to another pack keeps the current pack in use', async () => {
    const ctx = setup();
    await ready(ctx);
    const switching = ctx.get().loadPack('other');
    await flush();
    const load = ctx.worker().last('loadPack');
    expect(load.packUrl).toBe('models/other/pack.json');
    ctx.get().stop();
    await switching;
    expect(ctx.get().packStatus).toMatchObject({ phase: 'ready', packId: 'cifar10' });
    expect(ctx.get().pack?.id).toBe('cifar10');
    expect(
      ctx
        .get()
        .warnings.map((w) => w.message)
        .join(' '),
    ).toMatch(/stopped/);
  });
});
