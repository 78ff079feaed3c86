// The store under test with an engine that answers only when the test says so (tests/unit/store*.test.ts).
import type { PackSource, PackSummary, RgbaImage } from '../../../src/engine/protocol';
import { decodePermalink, type PermalinkState } from '../../../src/share/permalink';
import {
  type EngineApi,
  type EngineEvent,
  type GenerateRequest,
  type InterpolateRequest,
  type LagRequest,
  type TimedLagResult,
  type LoadProgress,
} from '../../../src/state/engineClient';
import { createPlaygroundStore, type PlaygroundEnv, type PreparedSource } from '../../../src/state/store';
import { flush } from './fakeWorker';
import { makeRgbaPng } from './png';
import { img, makePack } from './storeFixtures';
import { EngineError } from '../../../src/engine/errors';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** An engine that answers only when the test says so, with a catalogue of existing packs. */
export class FakeEngine implements EngineApi {
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
  async loadPack({ packUrl }: PackSource, onProgress?: (p: LoadProgress) => void) {
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

export function setup(options: { packs?: string[]; index?: unknown; samplesFail?: boolean } = {}) {
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
export async function readyStore(options: Parameters<typeof setup>[0] = {}) {
  const ctx = setup(options);
  await startAndAnalyse(ctx);
  return ctx;
}
export async function startAndAnalyse(ctx: ReturnType<typeof setup>, link: PermalinkState | null = null) {
  const started = ctx.get().startup({ backend: 'auto', link });
  await flush();
  ctx.engine.answerExtract();
  await started;
  await flush();
}

export function decodeOk(hash: string) {
  const result = decodePermalink(hash);
  if (!result.ok) throw new Error(result.error.message);
  return result.state;
}
