// The worker's message protocol, driven directly (no Worker global in Node) with the real engine on cpu.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FromWorker, RgbaImage, ToWorker } from '../../src/engine/protocol';
import { WorkerHost } from '../../src/engine/workerHost';
import { REPO_ROOT } from './helpers/fixtures';
import { startStaticServer, type StaticServer } from './helpers/staticServer';
import type { PyramidEngine } from '../../src/engine/engine';
import { engineInternals } from './helpers/engineInternals';

const SIZE = 32;
const image: RgbaImage = { width: SIZE, height: SIZE, data: new Uint8ClampedArray(SIZE * SIZE * 4).fill(128) };

let server: StaticServer;
let messages: FromWorker[];
let host: WorkerHost;

const ofRequest = (requestId: number) => messages.filter((m) => 'requestId' in m && m.requestId === requestId);

beforeAll(async () => {
  server = await startStaticServer(REPO_ROOT);
  messages = [];
  // Two images per forward, so a grid takes several batches (cancellation is checked between them).
  host = new WorkerHost((m) => messages.push(m), { baseUrl: server.url, store: null, batchPixels: 2 * SIZE * SIZE });
  await host.receive({ type: 'init', backend: 'cpu' });
  await host.receive({ type: 'loadPack', requestId: 1, packUrl: 'tests/fixtures/tiny/pack.json' });
  await host.receive({ type: 'extract', requestId: 2, featuresId: 'a', image });
});
afterAll(() => server.close());

describe('worker host', () => {
  it('announces the backend and loads a pack relative to the page URL, with progress', () => {
    expect(messages[0]).toMatchObject({ type: 'ready', backend: 'cpu' });
    const load = ofRequest(1);
    expect(load.at(-1)).toMatchObject({ type: 'packLoaded', fromCache: false, pack: { id: 'tiny', imageSize: 32 } });
    const stages = new Set(load.filter((m) => m.type === 'progress').map((m) => (m as { stage: string }).stage));
    expect([...stages]).toEqual(['manifest', 'download', 'verify', 'decode', 'upload', 'warmup']);
    expect(ofRequest(2)).toMatchObject([{ type: 'extracted', featuresId: 'a' }]);
  });

  it('streams rows then `generated`', async () => {
    await host.receive({
      type: 'generate',
      requestId: 3,
      featuresId: 'a',
      levels: [0, 6],
      samples: 2,
      seed: 5,
      classIndex: 1,
    });
    const reply = ofRequest(3);
    expect(reply.map((m) => m.type)).toEqual(['row', 'row', 'generated']);
    expect(reply.map((m) => (m as { level?: number }).level).slice(0, 2)).toEqual([0, 6]);
  });

  // Superseding is the client's decision (it sends `cancel`); the host runs every request it is not told to stop.
  it('a later generate does not cancel an earlier one; a `cancel` for a queued one stops it before it starts', async () => {
    const first = host.receive({
      type: 'generate',
      requestId: 10,
      featuresId: 'a',
      levels: [0, 1],
      samples: 2,
      seed: 1,
      classIndex: 0,
    });
    const second = host.receive({
      type: 'generate',
      requestId: 11,
      featuresId: 'a',
      levels: [2],
      samples: 2,
      seed: 1,
      classIndex: 0,
    });
    const third = host.receive({
      type: 'generate',
      requestId: 12,
      featuresId: 'a',
      levels: [3],
      samples: 2,
      seed: 1,
      classIndex: 0,
    });
    await host.receive({ type: 'cancel', requestId: 11 });
    await Promise.all([first, second, third]);
    expect(ofRequest(10).map((m) => m.type)).toEqual(['row', 'row', 'generated']);
    expect(ofRequest(11)).toMatchObject([{ type: 'error', code: 'cancelled' }]);
    expect(ofRequest(12).map((m) => m.type)).toEqual(['row', 'generated']);
  });

  it('cancel aborts a pack load in its shard fetches, and the loaded pack stays usable', async () => {
    const signals: AbortSignal[] = [];
    let hangShards = false;
    // Shard requests hang while `hangShards` is set, until their signal aborts them (as a browser fetch does).
    const fetchWithHang: typeof fetch = (input, init) => {
      const url = String(input);
      if (!hangShards || !url.endsWith('.bin')) return fetch(input, init);
      const signal = init?.signal;
      if (!signal) return Promise.reject(new Error('a shard fetch without an AbortSignal'));
      signals.push(signal);
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      );
    };
    const own: FromWorker[] = [];
    const loader = new WorkerHost((m) => own.push(m), { baseUrl: server.url, store: null, fetch: fetchWithHang });
    await loader.receive({ type: 'init', backend: 'cpu' });
    await loader.receive({ type: 'loadPack', requestId: 1, packUrl: 'tests/fixtures/tiny/pack.json' });
    expect(own.at(-1)).toMatchObject({ type: 'packLoaded' });
    hangShards = true;
    const loading = loader.receive({ type: 'loadPack', requestId: 2, packUrl: 'tests/fixtures/tiny/pack.json' });
    while (signals.length === 0) await new Promise((r) => setTimeout(r, 1));
    await loader.receive({ type: 'cancel', requestId: 2 });
    await loading;
    expect(signals[0].aborted).toBe(true);
    expect(own.filter((m) => 'requestId' in m && m.requestId === 2).at(-1)).toMatchObject({
      type: 'error',
      code: 'cancelled',
    });
    await loader.receive({ type: 'extract', requestId: 3, featuresId: 'x', image });
    await loader.receive({
      type: 'generate',
      requestId: 4,
      featuresId: 'x',
      levels: [1],
      samples: 1,
      seed: 1,
      classIndex: 0,
    });
    expect(own.filter((m) => 'requestId' in m && m.requestId === 4).map((m) => m.type)).toEqual(['row', 'generated']);
  });

  it('cancel stops a running request between batches', async () => {
    const run = host.receive({
      type: 'generate',
      requestId: 20,
      featuresId: 'a',
      levels: [0, 1, 2, 3, 4, 5, 6],
      samples: 2,
      seed: 1,
      classIndex: 0,
    });
    // Let the first batch finish, then cancel.
    while (!messages.some((m) => m.type === 'row' && m.requestId === 20)) await new Promise((r) => setTimeout(r, 1));
    await host.receive({ type: 'cancel', requestId: 20 });
    await run;
    const rows = ofRequest(20).filter((m) => m.type === 'row').length;
    expect(rows).toBeGreaterThanOrEqual(1);
    expect(rows).toBeLessThan(7);
    expect(ofRequest(20).at(-1)).toMatchObject({ type: 'error', code: 'cancelled' });
  });

  it('reports errors as messages and keeps working', async () => {
    await host.receive({
      type: 'generate',
      requestId: 30,
      featuresId: 'missing',
      levels: [0],
      samples: 1,
      seed: 1,
      classIndex: 0,
    });
    expect(ofRequest(30)).toMatchObject([{ type: 'error', code: 'bad-input' }]);
    await host.receive({ type: 'loadPack', requestId: 31, packUrl: 'tests/fixtures/nope/pack.json' });
    expect(ofRequest(31).at(-1)).toMatchObject({ type: 'error', code: 'pack-not-found', file: 'pack.json' });
    // The previously loaded pack is still usable.
    await host.receive({ type: 'lag', requestId: 32, image, candidates: 2, seed: 3, amplitude: 1 });
    expect(ofRequest(32)).toMatchObject([{ type: 'lagResult' }]);
    const result = ofRequest(32)[0] as Extract<FromWorker, { type: 'lagResult' }>;
    expect(result.candidates).toHaveLength(2);
  });

  it('answers malformed messages and bad inputs with bad-input errors, and keeps working', async () => {
    const malformed: unknown[] = [null, 42, 'generate', {}, { type: 'bogus', requestId: 50 }];
    for (const message of malformed) await host.receive(message as ToWorker);
    const errors = messages.slice(-malformed.length);
    expect(errors.every((m) => m.type === 'error' && m.code === 'bad-input')).toBe(true);
    expect(errors.at(-1)).toMatchObject({ requestId: 50 });

    const badImages: unknown[] = [
      { width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 4) },
      { width: 0, height: 0, data: new Uint8ClampedArray(0) },
      { width: SIZE, height: SIZE, data: new Float32Array(SIZE * SIZE * 4).fill(NaN) },
      { width: SIZE, height: SIZE, data: new Uint8ClampedArray(3) },
      undefined,
    ];
    let id = 51;
    for (const bad of badImages) {
      await host.receive({ type: 'extract', requestId: id, featuresId: 'bad', image: bad as RgbaImage });
      expect(ofRequest(id++), `extract ${JSON.stringify(bad)?.slice(0, 60)}`).toMatchObject([
        { type: 'error', code: 'bad-input' },
      ]);
      await host.receive({ type: 'lag', requestId: id, image: bad as RgbaImage, candidates: 2, seed: 1, amplitude: 1 });
      expect(ofRequest(id++), `lag ${JSON.stringify(bad)?.slice(0, 60)}`).toMatchObject([
        { type: 'error', code: 'bad-input' },
      ]);
    }
    await host.receive({
      type: 'generate',
      requestId: 70,
      featuresId: 'a',
      levels: [1],
      samples: 1,
      seed: 1,
      classIndex: 0,
      mask: new Float32Array(SIZE * SIZE).fill(NaN),
    });
    expect(ofRequest(70)).toMatchObject([{ type: 'error', code: 'bad-input' }]);
    await host.receive({
      type: 'generate',
      requestId: 71,
      featuresId: 'a',
      levels: [1],
      samples: 1,
      seed: 1,
      classIndex: 0,
    });
    expect(ofRequest(71).map((m) => m.type)).toEqual(['row', 'generated']);
  });

  it('answers memory requests, and dispose frees a feature set', async () => {
    await host.receive({ type: 'memory', requestId: 40 });
    const before = ofRequest(40)[0] as Extract<FromWorker, { type: 'memory' }>;
    await host.receive({ type: 'dispose', featuresId: 'a' });
    await host.receive({ type: 'memory', requestId: 41 });
    const after = ofRequest(41)[0] as Extract<FromWorker, { type: 'memory' }>;
    expect(after.numTensors).toBe(before.numTensors - 7); // the 7 pyramid levels
  });

  // WebGL context loss cannot happen in Node (no WebGL); the engine's reaction to it can. backend.ts turns the
  // TF.js canvas's `webglcontextlost` event (and WebGPU's `device.lost`) into the engine's loss handler; here that
  // handler is called directly for the running backend, as the event would.
  it('after a lost backend, switches to the next one, says so, and keeps answering', async () => {
    const engine = engineInternals((host as unknown as { engine: PyramidEngine }).engine);
    await host.receive({ type: 'extract', requestId: 80, featuresId: 'b', image });
    await host.receive({
      type: 'generate',
      requestId: 81,
      featuresId: 'b',
      levels: [2, 5],
      samples: 2,
      seed: 4,
      classIndex: 2,
    });
    const before = ofRequest(81).filter((m) => m.type === 'row');
    engine.handleBackendLoss('cpu', 'WebGL context lost (simulated)');
    await host.receive({
      type: 'generate',
      requestId: 82,
      featuresId: 'b',
      levels: [2, 5],
      samples: 2,
      seed: 4,
      classIndex: 2,
    });
    expect(messages.find((m) => m.type === 'backendChanged')).toMatchObject({
      backend: 'wasm',
      reason: 'WebGL context lost (simulated)',
    });
    const after = ofRequest(82).filter((m) => m.type === 'row') as Extract<FromWorker, { type: 'row' }>[];
    expect(after.map((m) => m.level)).toEqual([2, 5]);
    // Same images within rounding (wasm and cpu sum in different orders): features were rebuilt from the host copy.
    after.forEach((row, r) =>
      row.images.forEach((img, k) => {
        const ref = (before[r] as Extract<FromWorker, { type: 'row' }>).images[k].data;
        let maxDiff = 0;
        for (let i = 0; i < img.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(img.data[i] - ref[i]));
        expect(maxDiff).toBeLessThanOrEqual(1);
      }),
    );
  });
});
