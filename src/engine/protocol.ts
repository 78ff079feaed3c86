// Typed messages between the UI thread and the engine worker (src/engine/worker.ts).
// The UI never imports TF.js: everything it needs crosses this boundary as plain data.

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type BackendRequest = BackendName | 'auto';

/** RGBA pixels at a given size, as the canvas API produces them. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export interface LevelInfo {
  index: number;
  /** A name of the level table (src/engine/levels.ts). */
  name: string;
  stride: number | null;
  channels: number;
  size: number | null;
}

/** What the UI needs to know about a loaded pack (pack.json without the weights). */
export interface PackSummary {
  id: string;
  title: string;
  preview: boolean;
  digest: string;
  imageSize: number;
  classNames: string[];
  levels: LevelInfo[];
  lag: { scale: number; lrSize: number; noiseChannels: number };
  spZDim: number;
  bytes: number;
  metrics?: Record<string, unknown>;
  /** How the pack was made (pack.json `provenance`: script, commit, dataset, device, training time...). */
  provenance?: Record<string, unknown>;
}

/** A grid request: the engine, the worker and the UI client all use this one shape. */
export interface GenerateRequest {
  featuresId: string;
  /** One row per entry; each row is `samples` images with seeds derived from (seed, sample index). */
  levels: number[];
  samples: number;
  seed: number;
  classIndex: number;
  /** Image-resolution mask in [0, 1], row-major, length imageSize^2; omitted means all ones. */
  mask?: Float32Array;
}

export interface LagRequest {
  image: RgbaImage; // at the pack's image size; the worker average-pools it to lrSize
  candidates: number;
  seed: number;
  amplitude: number;
}

export interface LagResult {
  lr: RgbaImage; // lrSize x lrSize
  candidates: RgbaImage[]; // imageSize x imageSize
  stdMap: RgbaImage; // per-pixel standard deviation across candidates, as a heat map
  maxStd: number;
}

/** Frames between two samples (src/engine/interpolation.ts): frame i sits at t = i / (frames - 1). The noise of an
 * endpoint is that of sample 0 of its seed (the first sample of a grid or of the LAG candidates with that seed). */
export type InterpolateRequest =
  /** Semantic Pyramid at one level: z slerped from seedA's to seedB's, the class blended from classA to classB. */
  | {
      model: 'sp';
      frames: number;
      seedA: number;
      seedB: number;
      featuresId: string;
      level: number;
      classA: number;
      classB: number;
      mask?: Float32Array;
    }
  /** LAG on one image: its noise map slerped from seedA's to seedB's. */
  | { model: 'lag'; frames: number; seedA: number; seedB: number; image: RgbaImage; amplitude: number };

/** The stages of loading a pack, in order; `upload` puts the weights on the backend, `warmup` runs them once on a
 * GPU backend. */
export type LoadStage = 'manifest' | 'download' | 'verify' | 'decode' | 'upload' | 'warmup';

export interface LoadProgress {
  stage: LoadStage;
  /** Bytes (download, decode), shards (verify) or steps (upload, warmup) done of `total`. */
  loaded: number;
  total: number;
}

/** A pack to load. packUrl: URL of pack.json (relative URLs resolve against the page). files: a pack the person
 * opened (a folder or a zip), by name relative to its pack.json; then packUrl is only a label and nothing is fetched
 * or cached. */
export interface PackSource {
  packUrl: string;
  files?: Record<string, Uint8Array>;
}

export type ToWorker =
  /** pageUrl: the page's URL (location.href), the base for relative pack URLs; a worker's own URL is not.
   * wasmThreads: threads for the WASM backend (1..8; default: the browser's core count, at most 4). More than 1
   * needs a cross-origin isolated page; `ready.detail` says how many run and, if fewer than asked, why. */
  | { type: 'init'; backend: BackendRequest; pageUrl?: string; wasmThreads?: number }
  | ({ type: 'loadPack'; requestId: number } & PackSource)
  /** Computes the pyramid of an image already at the pack's size and keeps it under featuresId. */
  | { type: 'extract'; requestId: number; featuresId: string; image: RgbaImage }
  | ({ type: 'generate'; requestId: number } & GenerateRequest)
  | ({ type: 'lag'; requestId: number } & LagRequest)
  /** A later `interpolate` supersedes the earlier ones, as `generate` does. */
  | ({ type: 'interpolate'; requestId: number } & InterpolateRequest)
  /** Stops a running or queued request; it then ends with an `error` of code `cancelled`. A later `generate`
   * (or `lag`) supersedes the earlier ones of its kind the same way. */
  | { type: 'cancel'; requestId: number }
  | { type: 'dispose'; featuresId: string }
  | { type: 'memory'; requestId: number };

export type ErrorCode =
  | 'pack-not-found'
  | 'pack-format'
  | 'pack-shard-missing'
  | 'pack-checksum'
  | 'pack-shape'
  | 'backend'
  | 'device-lost'
  | 'bad-input'
  | 'cancelled'
  | 'internal';

/** What a request can fail with as the UI sees it: the worker's codes, or the worker restarted or gone. */
export type EngineFailure = ErrorCode | 'restarted' | 'worker-lost';

export type FromWorker =
  | { type: 'ready'; backend: BackendName; detail: string; fellBackFrom?: BackendName; reason?: string }
  | ({ type: 'progress'; requestId: number } & LoadProgress)
  | { type: 'packLoaded'; requestId: number; pack: PackSummary; fromCache: boolean }
  | { type: 'extracted'; requestId: number; featuresId: string; probabilities: number[] }
  /** Streams one finished row (all samples of one level) as soon as it is ready. */
  | { type: 'row'; requestId: number; level: number; images: RgbaImage[] }
  | { type: 'generated'; requestId: number; ms: number }
  | ({ type: 'lagResult'; requestId: number; ms: number } & LagResult)
  | { type: 'memory'; requestId: number; numTensors: number; numBytes: number }
  | { type: 'interpolated'; requestId: number; frames: RgbaImage[]; ms: number }
  | { type: 'backendChanged'; backend: BackendName; reason: string }
  | { type: 'error'; requestId?: number; code: ErrorCode; message: string; file?: string };

/** A LAG answer as the UI receives it: the engine's result and the time the worker took. */
export type TimedLagResult = Omit<Extract<FromWorker, { type: 'lagResult' }>, 'type' | 'requestId'>;
