// The UI's only door to the engine worker. It numbers requests, turns replies into promises (and row streams),
// drops replies that belong to stale requests, and restarts a crashed worker, replaying the pack load and the
// current image's features so that the app carries on. It is the one layer that decides a request is superseded
// (a newer generate, LAG or pack load replaces the older one of its kind) or stopped (cancel): it then sends the
// worker a `cancel` for it, and the worker only honours those.

import type {
  BackendRequest,
  FromWorker,
  GenerateRequest,
  InterpolateRequest,
  LagRequest,
  LoadProgress,
  PackSource,
  TimedLagResult,
  PackSummary,
  RgbaImage,
  ToWorker,
} from '../engine/protocol';
import { EngineError } from '../engine/errors';

/** What the client needs from a Worker (a real one in the browser, a fake one in tests). */
export interface WorkerLike {
  postMessage(message: ToWorker): void;
  onmessage: ((event: MessageEvent<FromWorker>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
  onmessageerror: ((event: MessageEvent) => void) | null;
  terminate(): void;
}

/** True for failures the UI should not show: the request was replaced by a newer one or will be re-run. */
export function isSupersededFailure(error: unknown): boolean {
  return error instanceof EngineError && (error.code === 'cancelled' || error.code === 'restarted');
}

/** The worker's own announcements, plus the client's news about restarting a crashed worker. */
export type EngineEvent =
  | Extract<FromWorker, { type: 'ready' | 'backendChanged' }>
  | Omit<Extract<FromWorker, { type: 'error' }>, 'requestId'>
  | { type: 'restarting'; reason: string; attempt: number }
  | { type: 'restarted' }
  | { type: 'gaveUp'; reason: string };

export type { GenerateRequest, InterpolateRequest, LagRequest, LoadProgress, TimedLagResult } from '../engine/protocol';

/** The surface the store uses; EngineClient implements it and tests fake it. */
export interface EngineApi {
  start(backend: BackendRequest): void;
  subscribe(listener: (event: EngineEvent) => void): () => void;
  loadPack(
    source: PackSource,
    onProgress?: (progress: LoadProgress) => void,
  ): Promise<{ pack: PackSummary; fromCache: boolean }>;
  extract(image: RgbaImage): Promise<{ featuresId: string; probabilities: number[] }>;
  generate(request: GenerateRequest, onRow: (level: number, images: RgbaImage[]) => void): Promise<{ ms: number }>;
  lag(request: LagRequest): Promise<TimedLagResult>;
  /** The frames between two samples; a newer call supersedes an older one. */
  interpolate(request: InterpolateRequest): Promise<{ frames: RgbaImage[]; ms: number }>;
  /** Stops the running request of that kind, if any: its promise rejects with code `cancelled`. */
  cancel(kind: CancellableKind): void;
}

/** The kinds of request a person can stop (Stop button, Escape); a newer request of a kind supersedes the older. */
export type CancellableKind = 'generate' | 'lag' | 'loadPack' | 'interpolate';

type Pending =
  | {
      kind: 'loadPack';
      source: PackSource;
      onProgress?: (p: LoadProgress) => void;
      resolve: (v: { pack: PackSummary; fromCache: boolean }) => void;
      reject: (e: Error) => void;
    }
  | {
      kind: 'extract';
      featuresId: string;
      image: RgbaImage;
      resolve: (v: { featuresId: string; probabilities: number[] }) => void;
      reject: (e: Error) => void;
    }
  | {
      kind: 'generate';
      onRow: (level: number, images: RgbaImage[]) => void;
      resolve: (v: { ms: number }) => void;
      reject: (e: Error) => void;
    }
  | { kind: 'lag'; resolve: (v: TimedLagResult) => void; reject: (e: Error) => void }
  | { kind: 'interpolate'; resolve: (v: { frames: RgbaImage[]; ms: number }) => void; reject: (e: Error) => void };

export interface EngineClientOptions {
  /** Restarts allowed inside `restartWindowMs` before the client gives up (a worker that crashes on load). */
  maxRestarts?: number;
  restartWindowMs?: number;
  now?: () => number;
}

export class EngineClient implements EngineApi {
  private worker: WorkerLike | null = null;
  private backend: BackendRequest = 'auto';
  private nextRequestId = 1;
  private nextFeaturesId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  /** The newest request of each cancellable kind; an older one is cancelled when a new one starts. */
  private readonly current: Record<CancellableKind, number | null> = {
    generate: null,
    lag: null,
    loadPack: null,
    interpolate: null,
  };
  /** What a restarted worker must be given again. */
  /** The pack the worker holds or is loading; replayed after a restart. */
  private lastPack: PackSource | null = null;
  private lastFeatures: { featuresId: string; image: RgbaImage } | null = null;
  private restartTimes: number[] = [];
  private gaveUp = false;
  private readonly maxRestarts: number;
  private readonly restartWindowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly createWorker: () => WorkerLike,
    options: EngineClientOptions = {},
  ) {
    this.maxRestarts = options.maxRestarts ?? 3;
    this.restartWindowMs = options.restartWindowMs ?? 60_000;
    this.now = options.now ?? (() => Date.now());
  }

  start(backend: BackendRequest): void {
    this.backend = backend;
    this.spawn();
  }

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  loadPack(source: PackSource, onProgress?: (progress: LoadProgress) => void) {
    const previous = { pack: this.lastPack, features: this.lastFeatures };
    this.lastPack = source;
    // Features belong to the previous pack's VGG.
    this.lastFeatures = null;
    this.supersede('loadPack');
    return new Promise<{ pack: PackSummary; fromCache: boolean }>((resolve, reject) => {
      const requestId = this.send((id) => ({ type: 'loadPack', requestId: id, ...source }));
      this.current.loadPack = requestId;
      // A refused pack leaves the worker on the previous one: a restart must replay that one, not the refused one.
      const rejectAndRestore = (error: Error) => {
        if (this.lastPack === source && this.lastFeatures === null) {
          this.lastPack = previous.pack;
          this.lastFeatures = previous.features;
        }
        reject(error);
      };
      this.pending.set(requestId, { kind: 'loadPack', source, onProgress, resolve, reject: rejectAndRestore });
    });
  }

  extract(image: RgbaImage) {
    const featuresId = `features-${this.nextFeaturesId++}`;
    const previous = this.lastFeatures;
    this.lastFeatures = { featuresId, image };
    return new Promise<{ featuresId: string; probabilities: number[] }>((resolve, reject) => {
      const requestId = this.send((id) => ({ type: 'extract', requestId: id, featuresId, image }));
      this.pending.set(requestId, {
        kind: 'extract',
        featuresId,
        image,
        resolve: (value) => {
          // Only one image is live at a time: free the previous pyramid once the new one exists.
          if (previous && previous.featuresId !== featuresId)
            this.post({ type: 'dispose', featuresId: previous.featuresId });
          resolve(value);
        },
        reject,
      });
    });
  }

  generate(request: GenerateRequest, onRow: (level: number, images: RgbaImage[]) => void) {
    this.supersede('generate');
    return new Promise<{ ms: number }>((resolve, reject) => {
      const requestId = this.send((id) => ({ type: 'generate', requestId: id, ...request }));
      this.current.generate = requestId;
      this.pending.set(requestId, { kind: 'generate', onRow, resolve, reject });
    });
  }

  lag(request: LagRequest) {
    this.supersede('lag');
    return new Promise<TimedLagResult>((resolve, reject) => {
      const requestId = this.send((id) => ({ type: 'lag', requestId: id, ...request }));
      this.current.lag = requestId;
      this.pending.set(requestId, { kind: 'lag', resolve, reject });
    });
  }

  interpolate(request: InterpolateRequest) {
    this.supersede('interpolate');
    return new Promise<{ frames: RgbaImage[]; ms: number }>((resolve, reject) => {
      const requestId = this.send((id) => ({ type: 'interpolate', requestId: id, ...request }));
      this.current.interpolate = requestId;
      this.pending.set(requestId, { kind: 'interpolate', resolve, reject });
    });
  }

  cancel(kind: CancellableKind): void {
    this.stopRequest(kind, 'Stopped.');
  }

  /** Stops the worker for good (page teardown). */
  terminate(): void {
    this.rejectAll(new EngineError('worker-lost', 'The engine was shut down.'));
    this.worker?.terminate();
    this.worker = null;
  }

  // -------------------------------------------------------------------------------------------------------------

  private emit(event: EngineEvent) {
    for (const listener of this.listeners) listener(event);
  }

  private post(message: ToWorker) {
    this.worker?.postMessage(message);
  }

  private send(build: (requestId: number) => ToWorker): number {
    const requestId = this.nextRequestId++;
    if (this.gaveUp) {
      // Reject asynchronously, after the caller has registered the pending entry.
      queueMicrotask(() =>
        this.settleWithError(
          requestId,
          new EngineError('worker-lost', 'The engine stopped working; reload the page to try again.'),
        ),
      );
    } else {
      this.post(build(requestId));
    }
    return requestId;
  }

  private supersede(kind: CancellableKind) {
    this.stopRequest(kind, 'Superseded by a newer request.');
  }

  private stopRequest(kind: CancellableKind, reason: string) {
    const requestId = this.current[kind];
    this.current[kind] = null;
    if (requestId === null) return;
    const entry = this.pending.get(requestId);
    if (!entry) return;
    this.pending.delete(requestId);
    this.post({ type: 'cancel', requestId });
    entry.reject(new EngineError('cancelled', reason));
  }

  private settleWithError(requestId: number, error: Error) {
    const entry = this.pending.get(requestId);
    if (!entry) return;
    this.pending.delete(requestId);
    entry.reject(error);
  }

  private spawn() {
    const worker = this.createWorker();
    this.worker = worker;
    worker.onmessage = (event) => {
      if (this.worker === worker) this.handle(event.data);
    };
    worker.onerror = (event) => {
      event.preventDefault?.();
      if (this.worker === worker) this.restart(event.message || 'the engine worker crashed');
    };
    worker.onmessageerror = () => {
      if (this.worker === worker) this.restart('a message from the engine could not be read');
    };
    worker.postMessage({ type: 'init', backend: this.backend });
  }

  private restart(reason: string) {
    this.worker?.terminate();
    this.worker = null;
    const now = this.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.restartWindowMs);
    this.restartTimes.push(now);
    if (this.restartTimes.length > this.maxRestarts) {
      this.gaveUp = true;
      this.rejectAll(
        new EngineError('worker-lost', `The engine keeps crashing (${reason}); reload the page to try again.`),
      );
      this.emit({ type: 'gaveUp', reason });
      return;
    }
    this.emit({ type: 'restarting', reason, attempt: this.restartTimes.length });

    // Generation results are not replayed: the caller re-runs them after 'restarted' with fresh settings.
    // Callers still waiting on the newest pack load / feature extraction are re-attached to the replays below.
    const interrupted = [...this.pending.values()];
    this.pending.clear();
    let waitingPack: Extract<Pending, { kind: 'loadPack' }> | undefined;
    let waitingExtract: Extract<Pending, { kind: 'extract' }> | undefined;
    for (const entry of interrupted) {
      if (entry.kind === 'loadPack' && entry.source === this.lastPack && !waitingPack) waitingPack = entry;
      else if (entry.kind === 'extract' && entry.featuresId === this.lastFeatures?.featuresId) waitingExtract = entry;
      else entry.reject(new EngineError('restarted', 'The engine restarted.'));
    }
    this.current.generate = null;
    this.current.lag = null;
    this.current.loadPack = null;
    this.current.interpolate = null;

    this.spawn();
    const replays: Promise<unknown>[] = [];
    if (this.lastPack) {
      const source = this.lastPack;
      replays.push(
        new Promise((resolve, reject) => {
          const requestId = this.send((id) => ({ type: 'loadPack', requestId: id, ...source }));
          this.current.loadPack = requestId;
          this.pending.set(requestId, {
            kind: 'loadPack',
            source,
            onProgress: waitingPack?.onProgress,
            resolve: (v) => (waitingPack?.resolve(v), resolve(v)),
            reject: (e) => (waitingPack?.reject(e), reject(e)),
          });
        }),
      );
    }
    if (this.lastFeatures) {
      const { featuresId, image } = this.lastFeatures;
      replays.push(
        new Promise((resolve, reject) => {
          const requestId = this.send((id) => ({ type: 'extract', requestId: id, featuresId, image }));
          this.pending.set(requestId, {
            kind: 'extract',
            featuresId,
            image,
            resolve: (v) => (waitingExtract?.resolve(v), resolve(v)),
            reject: (e) => (waitingExtract?.reject(e), reject(e)),
          });
        }),
      );
    }
    Promise.all(replays).then(
      () => this.emit({ type: 'restarted' }),
      () => {
        /* the failing request already reported through its own promise / the error event */
      },
    );
  }

  private rejectAll(error: Error) {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.reject(error);
  }

  private handle(message: FromWorker) {
    switch (message.type) {
      case 'ready':
        this.emit({
          type: 'ready',
          backend: message.backend,
          detail: message.detail,
          fellBackFrom: message.fellBackFrom,
          reason: message.reason,
        });
        return;
      case 'backendChanged':
        this.emit({ type: 'backendChanged', backend: message.backend, reason: message.reason });
        return;
      case 'progress': {
        const entry = this.pending.get(message.requestId);
        if (entry?.kind === 'loadPack')
          entry.onProgress?.({ stage: message.stage, loaded: message.loaded, total: message.total });
        return;
      }
      case 'packLoaded': {
        const entry = this.take(message.requestId, 'loadPack');
        if (entry && this.current.loadPack === message.requestId) this.current.loadPack = null;
        entry?.resolve({ pack: message.pack, fromCache: message.fromCache });
        return;
      }
      case 'extracted': {
        const entry = this.take(message.requestId, 'extract');
        entry?.resolve({ featuresId: message.featuresId, probabilities: message.probabilities });
        return;
      }
      case 'row': {
        // Rows of a superseded request find no pending entry and are dropped here.
        const entry = this.pending.get(message.requestId);
        if (entry?.kind === 'generate') entry.onRow(message.level, message.images);
        return;
      }
      case 'generated': {
        const entry = this.take(message.requestId, 'generate');
        if (entry && this.current.generate === message.requestId) this.current.generate = null;
        entry?.resolve({ ms: message.ms });
        return;
      }
      case 'lagResult': {
        const entry = this.take(message.requestId, 'lag');
        if (entry && this.current.lag === message.requestId) this.current.lag = null;
        entry?.resolve({
          lr: message.lr,
          candidates: message.candidates,
          stdMap: message.stdMap,
          maxStd: message.maxStd,
          ms: message.ms,
        });
        return;
      }
      case 'interpolated': {
        const entry = this.take(message.requestId, 'interpolate');
        if (entry && this.current.interpolate === message.requestId) this.current.interpolate = null;
        entry?.resolve({ frames: message.frames, ms: message.ms });
        return;
      }
      case 'memory':
        return;
      case 'error': {
        const error = new EngineError(message.code, message.message, message.file);
        if (message.requestId !== undefined && this.pending.has(message.requestId)) {
          this.settleWithError(message.requestId, error);
        } else if (message.code !== 'cancelled') {
          this.emit({ type: 'error', code: message.code, message: message.message, file: message.file });
        }
        return;
      }
    }
  }

  private take<K extends Pending['kind']>(requestId: number, kind: K): Extract<Pending, { kind: K }> | undefined {
    const entry = this.pending.get(requestId);
    if (!entry || entry.kind !== kind) return undefined;
    this.pending.delete(requestId);
    return entry as Extract<Pending, { kind: K }>;
  }
}

/** The real engine worker (a module worker that Vite bundles); only the browser entry calls this. */
export function createEngineWorker(): WorkerLike {
  return new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module' }) as WorkerLike;
}
