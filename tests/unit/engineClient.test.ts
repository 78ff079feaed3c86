import { describe, expect, it } from 'vitest';
import type { PackSummary, RgbaImage } from '../../src/engine/protocol';
import { EngineClient, isSupersededFailure, type EngineEvent } from '../../src/state/engineClient';
import { FakeWorker, flush } from './helpers/fakeWorker';
import { EngineError } from '../../src/engine/errors';

const image = (value = 0): RgbaImage => ({ width: 2, height: 2, data: new Uint8ClampedArray(16).fill(value) });
const pack = { id: 'tiny', digest: 'ab', imageSize: 32 } as PackSummary;

function setup(options = {}) {
  const workers: FakeWorker[] = [];
  const client = new EngineClient(() => {
    const worker = new FakeWorker();
    workers.push(worker);
    return worker;
  }, options);
  const events: EngineEvent[] = [];
  client.subscribe((event) => events.push(event));
  client.start('webgl');
  return { client, workers, events, worker: () => workers[workers.length - 1] };
}

describe('EngineClient', () => {
  it('initialises the worker with the requested backend and reports ready', () => {
    const { worker, events } = setup();
    expect(worker().posted[0]).toEqual({ type: 'init', backend: 'webgl' });
    worker().reply({ type: 'ready', backend: 'webgl', detail: 'WebGL 2' });
    expect(events).toEqual([
      { type: 'ready', backend: 'webgl', detail: 'WebGL 2', fellBackFrom: undefined, reason: undefined },
    ]);
  });

  it('resolves loadPack with the pack and streams progress to the caller', async () => {
    const { client, worker } = setup();
    const progress: number[] = [];
    const loading = client.loadPack({ packUrl: '/models/tiny/pack.json' }, (p) => progress.push(p.loaded));
    const { requestId, packUrl } = worker().last('loadPack');
    expect(packUrl).toBe('/models/tiny/pack.json');
    worker().reply({ type: 'progress', requestId, stage: 'download', loaded: 10, total: 20 });
    worker().reply({ type: 'progress', requestId, stage: 'download', loaded: 20, total: 20 });
    worker().reply({ type: 'packLoaded', requestId, pack, fromCache: false });
    await expect(loading).resolves.toEqual({ pack, fromCache: false });
    expect(progress).toEqual([10, 20]);
  });

  it('gives each extraction its own features id and disposes the previous one once the new one exists', async () => {
    const { client, worker } = setup();
    const first = client.extract(image(1));
    const a = worker().last('extract');
    worker().reply({ type: 'extracted', requestId: a.requestId, featuresId: a.featuresId, probabilities: [0.2, 0.8] });
    await expect(first).resolves.toEqual({ featuresId: a.featuresId, probabilities: [0.2, 0.8] });
    const second = client.extract(image(2));
    const b = worker().last('extract');
    expect(b.featuresId).not.toBe(a.featuresId);
    expect(worker().all('dispose')).toEqual([]);
    worker().reply({ type: 'extracted', requestId: b.requestId, featuresId: b.featuresId, probabilities: [1, 0] });
    await second;
    expect(worker().all('dispose')).toEqual([{ type: 'dispose', featuresId: a.featuresId }]);
  });

  it('streams rows of the current generate request and resolves when it is done', async () => {
    const { client, worker } = setup();
    const rows: number[] = [];
    const done = client.generate({ featuresId: 'f', levels: [0, 1], samples: 2, seed: 7, classIndex: 3 }, (level) =>
      rows.push(level),
    );
    const request = worker().last('generate');
    expect(request).toMatchObject({ featuresId: 'f', levels: [0, 1], samples: 2, seed: 7, classIndex: 3 });
    worker().reply({ type: 'row', requestId: request.requestId, level: 0, images: [image(), image()] });
    worker().reply({ type: 'row', requestId: request.requestId, level: 1, images: [image(), image()] });
    worker().reply({ type: 'generated', requestId: request.requestId, ms: 12 });
    await expect(done).resolves.toEqual({ ms: 12 });
    expect(rows).toEqual([0, 1]);
  });

  it('cancels a superseded generate, rejects it as cancelled and ignores its late rows', async () => {
    const { client, worker } = setup();
    const staleRows: number[] = [];
    const freshRows: number[] = [];
    const stale = client.generate({ featuresId: 'f', levels: [0], samples: 1, seed: 1, classIndex: 0 }, (l) =>
      staleRows.push(l),
    );
    const staleId = worker().last('generate').requestId;
    const fresh = client.generate({ featuresId: 'f', levels: [2], samples: 1, seed: 2, classIndex: 0 }, (l) =>
      freshRows.push(l),
    );
    const freshId = worker().last('generate').requestId;
    expect(worker().last('cancel')).toEqual({ type: 'cancel', requestId: staleId });
    const staleError = await stale.catch((e) => e);
    expect(staleError).toBeInstanceOf(EngineError);
    expect(isSupersededFailure(staleError)).toBe(true);
    worker().reply({ type: 'row', requestId: staleId, level: 0, images: [image()] });
    worker().reply({ type: 'generated', requestId: staleId, ms: 1 });
    worker().reply({ type: 'row', requestId: freshId, level: 2, images: [image()] });
    worker().reply({ type: 'generated', requestId: freshId, ms: 2 });
    await expect(fresh).resolves.toEqual({ ms: 2 });
    expect(staleRows).toEqual([]);
    expect(freshRows).toEqual([2]);
  });

  it('cancel(kind) stops the running request of that kind only, and a new pack load supersedes the older one', async () => {
    const { client, worker } = setup();
    const postedBefore = worker().posted.length;
    client.cancel('generate');
    expect(worker().posted).toHaveLength(postedBefore); // nothing running: nothing sent
    const generating = client.generate({ featuresId: 'f', levels: [0], samples: 1, seed: 1, classIndex: 0 }, () => {});
    const lagging = client.lag({ image: image(), candidates: 1, seed: 1, amplitude: 0 });
    const generateId = worker().last('generate').requestId;
    client.cancel('generate');
    expect(worker().last('cancel')).toEqual({ type: 'cancel', requestId: generateId });
    expect(await generating.catch((e) => e)).toMatchObject({ code: 'cancelled' });
    const lagId = worker().last('lag').requestId;
    const result = { lr: image(), candidates: [image()], stdMap: image(), maxStd: 0, ms: 1 };
    worker().reply({ type: 'lagResult', requestId: lagId, ...result });
    await expect(lagging).resolves.toEqual(result);

    const first = client.loadPack({ packUrl: '/models/a/pack.json' });
    const firstId = worker().last('loadPack').requestId;
    const second = client.loadPack({ packUrl: '/models/b/pack.json' });
    expect(worker().last('cancel')).toEqual({ type: 'cancel', requestId: firstId });
    expect(isSupersededFailure(await first.catch((e) => e))).toBe(true);
    client.cancel('loadPack');
    expect(worker().last('cancel')).toEqual({ type: 'cancel', requestId: worker().last('loadPack').requestId });
    expect(await second.catch((e) => e)).toMatchObject({ code: 'cancelled' });
  });

  it('supersedes LAG requests independently of generate requests', async () => {
    const { client, worker } = setup();
    const generating = client.generate({ featuresId: 'f', levels: [0], samples: 1, seed: 1, classIndex: 0 }, () => {});
    const first = client.lag({ image: image(), candidates: 2, seed: 1, amplitude: 0.5 });
    const second = client.lag({ image: image(), candidates: 2, seed: 2, amplitude: 0.5 });
    expect(isSupersededFailure(await first.catch((e) => e))).toBe(true);
    const { requestId } = worker().last('lag');
    const result = { lr: image(), candidates: [image(), image()], stdMap: image(), maxStd: 0.1, ms: 3 };
    worker().reply({ type: 'lagResult', requestId, ...result });
    await expect(second).resolves.toEqual(result);
    worker().reply({ type: 'generated', requestId: worker().last('generate').requestId, ms: 4 });
    await expect(generating).resolves.toEqual({ ms: 4 });
  });

  it('rejects the matching request on an error reply, and reports errors without a request as events', async () => {
    const { client, worker, events } = setup();
    const loading = client.loadPack({ packUrl: '/models/missing/pack.json' });
    worker().reply({
      type: 'error',
      requestId: worker().last('loadPack').requestId,
      code: 'pack-not-found',
      message: 'no such pack',
      file: 'pack.json',
    });
    const error = await loading.catch((e) => e);
    expect(error).toMatchObject({ code: 'pack-not-found', message: 'no such pack', file: 'pack.json' });
    worker().reply({ type: 'error', code: 'device-lost', message: 'GPU gone' });
    expect(events).toContainEqual({ type: 'error', code: 'device-lost', message: 'GPU gone', file: undefined });
  });

  it('restarts a crashed worker, replays the pack and the features, and re-attaches waiting callers', async () => {
    const { client, workers, worker, events } = setup();
    const loading = client.loadPack({ packUrl: '/models/tiny/pack.json' });
    worker().reply({ type: 'packLoaded', requestId: worker().last('loadPack').requestId, pack, fromCache: false });
    await loading;
    const extracting = client.extract(image(9));
    const { featuresId } = worker().last('extract');
    const generating = client.generate({ featuresId, levels: [0], samples: 1, seed: 1, classIndex: 0 }, () => {});

    worker().crash('out of memory');
    expect(workers).toHaveLength(2);
    expect(workers[0].terminated).toBe(true);
    expect(events).toContainEqual({ type: 'restarting', reason: 'out of memory', attempt: 1 });
    const generateError = await generating.catch((e) => e);
    expect(generateError).toMatchObject({ code: 'restarted' });
    expect(isSupersededFailure(generateError)).toBe(true);

    const fresh = workers[1];
    expect(fresh.posted.map((m) => m.type)).toEqual(['init', 'loadPack', 'extract']);
    expect(fresh.last('init')).toEqual({ type: 'init', backend: 'webgl' });
    expect(fresh.last('loadPack').packUrl).toBe('/models/tiny/pack.json');
    expect(fresh.last('extract')).toMatchObject({ featuresId, image: image(9) });
    // Messages from the dead worker are ignored.
    workers[0].reply({ type: 'extracted', requestId: 999, featuresId, probabilities: [9] });

    fresh.reply({ type: 'packLoaded', requestId: fresh.last('loadPack').requestId, pack, fromCache: true });
    fresh.reply({
      type: 'extracted',
      requestId: fresh.last('extract').requestId,
      featuresId,
      probabilities: [0.5, 0.5],
    });
    await expect(extracting).resolves.toEqual({ featuresId, probabilities: [0.5, 0.5] });
    await flush();
    expect(events[events.length - 1]).toEqual({ type: 'restarted' });
  });

  it('gives up after too many crashes in a short time and then rejects new requests', async () => {
    let now = 0;
    const { client, worker, events, workers } = setup({ maxRestarts: 2, restartWindowMs: 1000, now: () => now });
    worker().crash();
    now += 10;
    worker().crash();
    now += 10;
    expect(workers).toHaveLength(3);
    worker().crash();
    expect(workers).toHaveLength(3);
    expect(events[events.length - 1]).toMatchObject({ type: 'gaveUp' });
    await expect(client.extract(image())).rejects.toMatchObject({ code: 'worker-lost' });
  });

  it('forgives crashes that are far apart', () => {
    let now = 0;
    const { worker, workers, events } = setup({ maxRestarts: 1, restartWindowMs: 1000, now: () => now });
    worker().crash();
    now += 5000;
    worker().crash();
    expect(workers).toHaveLength(3);
    expect(events.some((e) => e.type === 'gaveUp')).toBe(false);
  });
});
