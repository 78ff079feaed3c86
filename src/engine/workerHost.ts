// The worker's message handling, separate from the Worker global so tests can drive it directly in Node.
//
// Ordering: requests run one at a time, in arrival order (TF.js work is not interleaved). `cancel` acts on arrival,
// though: it marks a request, which stops before its next batch (or before it starts), and aborts a pack load's
// shard fetches; the request ends with an `error` message of code `cancelled`. Deciding that a request is stale
// (superseded by a newer one) is the UI client's job, which sends `cancel` for it; this host never guesses.
// No error ends the worker: each becomes an `error` message.
import { CancelledError, EngineError, describeError } from './errors';
import { PyramidEngine } from './engine';
import { FILES_PACK_URL, filesFetch } from './packFilesSource';
import { openCacheStoragePackStore, type PackStore } from './packStore';
import type { FromWorker, RgbaImage, ToWorker } from './protocol';

export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

const KNOWN_TYPES: ReadonlySet<string> = new Set<ToWorker['type']>([
  'init',
  'loadPack',
  'extract',
  'generate',
  'lag',
  'cancel',
  'dispose',
  'memory',
  'interpolate',
]);

export interface WorkerHostOptions {
  /** Base for relative pack URLs (the page URL). */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Defaults to Cache Storage when available. */
  store?: PackStore | null;
  batchPixels?: number;
}

function transferablesOf(images: RgbaImage[]): Transferable[] {
  return images.map((image) => image.data.buffer as ArrayBuffer);
}

export class WorkerHost {
  private readonly post: Post;
  private readonly options: WorkerHostOptions;
  private readonly engine: PyramidEngine;
  private queue: Promise<void> = Promise.resolve();
  private readonly cancelled = new Set<number>();
  /** One per pack load not yet finished, so that `cancel` can abort its fetches. */
  private readonly packLoadAborts = new Map<number, AbortController>();
  private baseUrl?: string;

  constructor(post: Post, options: WorkerHostOptions = {}) {
    this.post = post;
    this.options = options;
    this.baseUrl = options.baseUrl;
    this.engine = new PyramidEngine({
      batchPixels: options.batchPixels,
      onBackendChanged: (backend, reason) => this.post({ type: 'backendChanged', backend, reason }),
    });
  }

  /** Accepts one message; returns a promise that settles when it has been handled (tests await it). */
  receive(message: ToWorker): Promise<void> {
    if (
      typeof message !== 'object' ||
      message === null ||
      !KNOWN_TYPES.has((message as { type?: unknown }).type as string)
    ) {
      const requestId = (message as { requestId?: unknown } | null)?.requestId;
      this.post({
        type: 'error',
        requestId: typeof requestId === 'number' ? requestId : undefined,
        code: 'bad-input',
        message: `unknown message ${JSON.stringify((message as { type?: unknown } | null)?.type ?? message)}`,
      });
      return Promise.resolve();
    }
    // Decisions that must not wait behind running work.
    switch (message.type) {
      case 'loadPack':
        this.packLoadAborts.set(message.requestId, new AbortController());
        break;
      case 'cancel':
        this.cancelled.add(message.requestId);
        this.packLoadAborts.get(message.requestId)?.abort();
        return Promise.resolve();
    }
    const run = this.queue.then(() => this.handle(message));
    this.queue = run.catch(() => {});
    return run;
  }

  private async handle(message: ToWorker): Promise<void> {
    const requestId = 'requestId' in message ? message.requestId : undefined;
    try {
      await this.dispatch(message);
    } catch (error) {
      const engineError = error instanceof EngineError ? error : new EngineError('internal', describeError(error));
      // Restarts and a lost worker are the client's news; inside the worker they can only be a bug.
      const { code } = engineError;
      const workerCode = code === 'restarted' || code === 'worker-lost' ? 'internal' : code;
      this.post({ type: 'error', requestId, code: workerCode, message: engineError.message, file: engineError.file });
    } finally {
      if (requestId !== undefined) {
        this.cancelled.delete(requestId);
        this.packLoadAborts.delete(requestId);
      }
    }
  }

  private async dispatch(message: ToWorker): Promise<void> {
    switch (message.type) {
      case 'init': {
        if (message.pageUrl) this.baseUrl = message.pageUrl;
        let info;
        try {
          info = await this.engine.init(message.backend, { threads: message.wasmThreads });
        } catch (error) {
          throw new EngineError('backend', describeError(error));
        }
        this.post({ type: 'ready', ...info });
        return;
      }
      case 'loadPack': {
        const { requestId } = message;
        const { files } = message;
        const signal = this.packLoadAborts.get(requestId)?.signal;
        if (signal?.aborted) throw new CancelledError('cancelled before it started');
        // An opened pack is read from its files and kept by the page (by digest), not in the URL-keyed cache.
        const store = files
          ? null
          : this.options.store !== undefined
            ? this.options.store
            : await openCacheStoragePackStore();
        const { summary, fromCache } = await this.engine.loadPack({
          packUrl: files ? FILES_PACK_URL : message.packUrl,
          signal,
          baseUrl: this.baseUrl,
          fetch: files ? filesFetch(files) : this.options.fetch,
          store,
          onProgress: (stage, loaded, total) => this.post({ type: 'progress', requestId, stage, loaded, total }),
        });
        this.post({ type: 'packLoaded', requestId, pack: summary, fromCache });
        return;
      }
      case 'extract': {
        const probabilities = await this.engine.extract(message.featuresId, message.image);
        this.post({ type: 'extracted', requestId: message.requestId, featuresId: message.featuresId, probabilities });
        return;
      }
      case 'generate': {
        const { requestId } = message;
        const isCancelled = () => this.cancelled.has(requestId);
        if (isCancelled()) throw new CancelledError('cancelled before it started');
        const started = performance.now();
        await this.engine.generate(
          message,
          (level, images) => this.post({ type: 'row', requestId, level, images }, transferablesOf(images)),
          isCancelled,
        );
        this.post({ type: 'generated', requestId, ms: performance.now() - started });
        return;
      }
      case 'lag': {
        const { requestId } = message;
        const isCancelled = () => this.cancelled.has(requestId);
        if (isCancelled()) throw new CancelledError('cancelled before it started');
        const started = performance.now();
        const result = await this.engine.lag(message, isCancelled);
        const images = [result.lr, ...result.candidates, result.stdMap];
        this.post(
          { type: 'lagResult', requestId, ...result, ms: performance.now() - started },
          transferablesOf(images),
        );
        return;
      }
      case 'interpolate': {
        const { requestId } = message;
        const isCancelled = () => this.cancelled.has(requestId);
        if (isCancelled()) throw new CancelledError('cancelled before it started');
        const started = performance.now();
        const frames = await this.engine.interpolate(message, isCancelled);
        this.post(
          { type: 'interpolated', requestId, frames, ms: performance.now() - started },
          transferablesOf(frames),
        );
        return;
      }
      case 'dispose':
        this.engine.dropFeatures(message.featuresId);
        return;
      case 'memory': {
        const { numTensors, numBytes } = this.engine.memory();
        this.post({ type: 'memory', requestId: message.requestId, numTensors, numBytes });
        return;
      }
      case 'cancel':
        return; // handled on arrival
    }
  }
}
