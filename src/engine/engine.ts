// The engine: owns the TF.js backend, the loaded pack's weights, and the feature caches. A plain class, used by
// worker.ts in the browser and directly by the tests in Node.
import * as tf from '@tensorflow/tfjs-core';
import { AUTO_ORDER, activateBackend, backendLossReason, releaseBackend, type BackendInfo, type WasmOptions } from './backend';
import { CancelledError, EngineError } from './errors';
import { deriveWeights } from './derivedWeights';
import { heatMap, rgbaToSigned, signedToRgba } from './image';
import { lagDownscale, lagGenerate } from './lag';
import { standardNormalBatch } from './noise';
import { loadPack, type LoadedPack, type PackProgressStage } from './pack';
import type { PackStore } from './packStore';
import type { BackendName, BackendRequest, GenerateRequest, LagRequest, LagResult, PackSummary, RgbaImage } from './protocol';
import { spGenerate } from './sp';
import { vggPyramid } from './vgg';

export interface EngineOptions {
  /** Called after a lost GPU device made the engine switch backends (weights are re-uploaded by then). */
  onBackendChanged?: (backend: BackendName, reason: string) => void;
  /** Pixels per forward batch (images x S x S). Larger batches are faster on GPUs and use more memory. */
  batchPixels?: number;
  /** Feature sets kept at most; the least recently used is dropped beyond it. */
  maxFeatureSets?: number;
  /**
   * The requests whose shapes the warm-up after a pack load runs on GPU backends (WebGL/WebGPU compile a shader
   * per op *and shape*, so a batch-1 warm-up would leave the first real grid to pay for compilation). Default: the
   * app's defaults, one row of 6 samples, the compare grid of 7 levels x 6 samples, and 8 LAG candidates.
   */
  warmUp?: {
    samples: number;
    compareSamples: number;
    lagCandidates: number;
    /** Warm up at these shapes on any backend (default: only on hardware WebGL/WebGPU, not on software GPUs,
     * where it would take seconds and a software GPU is only used when forced). */
    always?: boolean;
  };
}

export interface LoadPackRequest {
  packUrl: string;
  baseUrl?: string;
  fetch?: typeof fetch;
  store?: PackStore | null;
  onProgress?: (stage: PackProgressStage | 'warmup', loaded: number, total: number) => void;
}

export type { GenerateRequest, LagRequest, LagResult } from './protocol';

/** Raw tensors as plain arrays (the parity tests and the engine's own caches use these). */
export interface HostTensor {
  shape: number[];
  values: Float32Array;
}

interface FeatureSet {
  levels: HostTensor[];
  /** The levels on the current backend, batch 1; rebuilt after a backend change. */
  tensors: tf.Tensor[] | null;
  probabilities: number[];
}

export type CancelCheck = () => boolean;

const DEFAULT_BATCH_PIXELS = 32 * 32 * 32;
/** Retries of one step after backend losses: at most one per backend that can be switched away from. */
const MAX_RECOVERIES = AUTO_ORDER.length - 1;
/** How long a failure on WebGPU waits for `device.lost` before it counts as a real error. */
const LOSS_ANNOUNCE_WAIT_MS = 2000;

export class PyramidEngine {
  private readonly options: EngineOptions;
  private backendInfo: BackendInfo | null = null;
  private backendRequest: BackendRequest = 'auto';
  private wasmOptions: WasmOptions = {};
  private readonly lostBackends = new Set<BackendName>();
  private recovery: Promise<void> | null = null;
  /** Steps in flight, abandoned when their backend is announced lost (a lost WebGL read may never settle). */
  private readonly onLoss = new Set<() => void>();
  private pack: LoadedPack | null = null;
  private weightTensors = new Map<string, tf.Tensor>();
  private readonly features = new Map<string, FeatureSet>();

  constructor(options: EngineOptions = {}) {
    this.options = options;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Backend
  // -------------------------------------------------------------------------------------------------------------
  async init(request: BackendRequest = 'auto', wasm: WasmOptions = this.wasmOptions): Promise<BackendInfo> {
    this.backendRequest = request;
    this.wasmOptions = wasm;
    this.backendInfo = await activateBackend(request, {
      exclude: this.lostBackends,
      wasm,
      onLost: (backend, reason) => this.handleBackendLoss(backend, reason),
    });
    return this.backendInfo;
  }

  get backend(): BackendInfo | null {
    return this.backendInfo;
  }

  /** Switches to the next backend after a device loss and re-uploads weights; requests wait for it. */
  private handleBackendLoss(lost: BackendName, reason: string): void {
    if (this.backendInfo?.backend !== lost || this.recovery) return;
    this.lostBackends.add(lost);
    for (const abandon of this.onLoss) abandon();
    this.recovery = (async () => {
      this.disposeBackendTensors();
      await this.init(this.backendRequest);
      releaseBackend(lost);
      if (this.pack) this.uploadWeights(this.pack);
      this.options.onBackendChanged?.(this.backendInfo!.backend, reason);
    })().finally(() => {
      this.recovery = null;
    });
  }

  private async ready(): Promise<void> {
    if (this.recovery) await this.recovery;
    if (!this.backendInfo) await this.init(this.backendRequest);
  }

  /**
   * Runs `work`; if the backend it ran on was lost meanwhile, waits for the switch and runs it again. Each loss
   * excludes a backend, and the retries are capped as well, so this never loops; any other error is rethrown.
   */
  private async withRecovery<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.ready();
      const backend = this.backendInfo!.backend;
      let result: T;
      try {
        result = await this.unlessLost(work());
      } catch (error) {
        if (error instanceof EngineError || attempt >= MAX_RECOVERIES) throw error;
        if (!(await this.wasLost(backend, LOSS_ANNOUNCE_WAIT_MS))) throw error;
        continue;
      }
      // A read-back from a lost WebGL context can "succeed" with zeros: only results of a live backend count.
      if (backend === 'webgl' && attempt < MAX_RECOVERIES && (await this.wasLost(backend, 0))) continue;
      return result;
    }
  }

  /** Settles like `step`, or rejects as soon as the running backend is announced lost. */
  private unlessLost<T>(step: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const abandon = () => reject(new Error('the backend was lost during this step'));
      this.onLoss.add(abandon);
      step.then(resolve, reject).finally(() => this.onLoss.delete(abandon));
    });
  }

  /** True if `backend` has been lost (asking it, up to `waitMs`); the switch to the next backend is then under way. */
  private async wasLost(backend: BackendName, waitMs: number): Promise<boolean> {
    if (this.recovery || this.backendInfo?.backend !== backend) return true; // already announced and handled
    const reason = await backendLossReason(backend, waitMs);
    if (reason !== null) this.handleBackendLoss(backend, reason); // no-op if the announcement came first
    return this.recovery !== null || this.backendInfo?.backend !== backend;
  }

  private disposeBackendTensors(): void {
    for (const tensor of this.weightTensors.values()) tensor.dispose();
    this.weightTensors.clear();
    for (const set of this.features.values()) {
      set.tensors?.forEach((t) => t.dispose());
      set.tensors = null;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Pack
  // -------------------------------------------------------------------------------------------------------------
  async loadPack(request: LoadPackRequest): Promise<{ summary: PackSummary; fromCache: boolean }> {
    await this.ready();
    const loaded = await loadPack(request.packUrl, {
      fetch: request.fetch,
      store: request.store,
      baseUrl: request.baseUrl,
      onProgress: request.onProgress,
    });
    this.disposeBackendTensors();
    this.features.clear(); // features of another pack's VGG are meaningless for this one
    this.pack = loaded;
    this.uploadWeights(loaded);
    request.onProgress?.('warmup', 0, 1);
    await this.withRecovery(() => this.warmUp());
    request.onProgress?.('warmup', 1, 1);
    return { summary: loaded.summary, fromCache: loaded.fromCache };
  }

  get packSummary(): PackSummary | null {
    return this.pack?.summary ?? null;
  }

  private uploadWeights(pack: LoadedPack): void {
    for (const [name, weight] of pack.weights) {
      this.weightTensors.set(name, tf.tensor(weight.values, weight.shape, 'float32'));
    }
    // Kernels derived from these (sub-pixel phases); kept in the same map, so they are disposed with the weights.
    // The 3x3 kernels they replace are read by no forward pass, so they leave backend memory (3.8 MB, default pack).
    const { derived, superseded } = deriveWeights(pack.arch, this.weight);
    for (const name of superseded) {
      this.weightTensors.get(name)?.dispose();
      this.weightTensors.delete(name);
    }
    for (const [name, tensor] of derived) this.weightTensors.set(name, tensor);
  }

  private readonly weight = (name: string): tf.Tensor => {
    const tensor = this.weightTensors.get(name);
    if (!tensor) throw new Error(`weight ${name} is not loaded`);
    return tensor;
  };

  private requirePack(): LoadedPack {
    if (!this.pack) throw new EngineError('bad-input', 'no pack is loaded');
    return this.pack;
  }

  /**
   * A forward of each network after loading, so that kernel setup (XNNPACK operators on wasm, shader compilation on
   * GPUs) happens here rather than on first use. On GPU backends it runs the batch shapes of the app's default
   * requests through the real generate / LAG paths; on wasm and cpu, whose kernels do not depend on the batch
   * size, one image of each is enough.
   */
  private async warmUp(): Promise<void> {
    const pack = this.requirePack();
    const size = pack.manifest.imageSize;
    const shapes = this.options.warmUp ?? { samples: 6, compareSamples: 6, lagCandidates: 8 };
    const info = this.backendInfo;
    const hardwareGpu = (info?.backend === 'webgpu' || info?.backend === 'webgl') && !/\(software\)/.test(info.detail);
    const gpu = shapes.always === true || hardwareGpu;
    if (!gpu) {
      // Every layer once, at batch 1 (all levels on, a mask).
      const levels = await this.computeFeatures(new Float32Array(size * size * 3), 1);
      await this.runSp({
        z: new Float32Array(pack.arch.sp.zDim),
        classes: [0],
        on: [pack.manifest.levels.map(() => 1)],
        mask: new Float32Array(size * size).fill(1),
        features: levels,
      });
      const { lrSize, noiseChannels } = pack.arch.lag;
      await this.runLag({
        lr: new Float32Array(lrSize * lrSize * 3),
        noise: new Float32Array(lrSize * lrSize * noiseChannels),
        amplitude: 1,
        batch: 1,
      });
      return;
    }
    // GPU: the real paths at the batch shapes of the app's default requests (a row, the compare grid, LAG).
    const id = '\u0000warm-up';
    const image = { width: size, height: size, data: new Uint8ClampedArray(size * size * 4).fill(128) };
    try {
      await this.extract(id, image);
      const all = pack.manifest.levels.map((_, l) => l);
      await this.generate({ featuresId: id, seed: 0, classIndex: 0, levels: [0], samples: shapes.samples }, () => {});
      await this.generate({ featuresId: id, seed: 0, classIndex: 0, levels: all, samples: shapes.compareSamples }, () => {});
      await this.lag({ image, candidates: shapes.lagCandidates, seed: 0, amplitude: 1 });
    } finally {
      this.dropFeatures(id);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Raw forward passes on host arrays (NHWC, batch first)
  // -------------------------------------------------------------------------------------------------------------
  /** VGG pyramid of `batch` images ([-1, 1], NHWC): the 7 levels as host arrays (one readback). */
  async computeFeatures(images: Float32Array, batch: number): Promise<HostTensor[]> {
    const pack = this.requirePack();
    const size = pack.manifest.imageSize;
    const levels = tf.tidy(() => vggPyramid(this.weight, pack.arch.vgg, tf.tensor4d(images, [batch, size, size, 3])));
    try {
      return await readTogether(levels);
    } finally {
      levels.forEach((t) => t.dispose());
    }
  }

  /** SP forward. `features` have batch B or 1 (shared); `mask` is [B or 1, S, S, 1] flattened. */
  async runSp(inputs: {
    z: Float32Array;
    classes: number[];
    on: number[][];
    mask: Float32Array;
    features: HostTensor[];
  }): Promise<Float32Array> {
    const pack = this.requirePack();
    const size = pack.manifest.imageSize;
    const batch = inputs.classes.length;
    const maskBatch = inputs.mask.length / (size * size);
    const out = tf.tidy(() =>
      spGenerate(this.weight, pack.arch.sp, pack.manifest.levels, {
        z: tf.tensor2d(inputs.z, [batch, pack.arch.sp.zDim]),
        classes: tf.tensor1d(inputs.classes, 'int32'),
        features: inputs.features.map((f) => tf.tensor(f.values, f.shape)),
        on: inputs.on,
        mask: tf.tensor4d(inputs.mask, [maskBatch, size, size, 1]),
      }),
    );
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  /** LAG forward on `batch` low-resolution images and noise maps. */
  async runLag(inputs: { lr: Float32Array; noise: Float32Array; amplitude: number; batch: number }): Promise<Float32Array> {
    const pack = this.requirePack();
    const { lrSize, noiseChannels } = pack.arch.lag;
    const out = tf.tidy(() =>
      lagGenerate(
        this.weight,
        pack.arch.lag,
        tf.tensor4d(inputs.lr, [inputs.batch, lrSize, lrSize, 3]),
        tf.tensor4d(inputs.noise, [inputs.batch, lrSize, lrSize, noiseChannels]),
        inputs.amplitude,
      ),
    );
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // The app's operations
  // -------------------------------------------------------------------------------------------------------------
  /**
   * Computes and keeps the pyramid of an image (at the pack's size); returns the class probabilities. The VGG runs
   * once per image: its 7 levels stay on the backend for every later `generate`, with a host copy (read back in
   * one transfer) to rebuild them after a backend change.
   */
  async extract(featuresId: string, image: RgbaImage): Promise<number[]> {
    const pack = this.requirePack();
    const size = pack.manifest.imageSize;
    if (typeof featuresId !== 'string' || featuresId === '') throw new EngineError('bad-input', 'featuresId must be a non-empty string');
    const pixels = rgbaToSigned(image, size); // bad-input for a wrong size, zero size or non-byte data
    const { levels, tensors } = await this.withRecovery(async () => {
      const tensors = tf.tidy(() => vggPyramid(this.weight, pack.arch.vgg, tf.tensor4d(pixels, [1, size, size, 3])));
      try {
        return { levels: await readTogether(tensors), tensors };
      } catch (error) {
        tensors.forEach((t) => t.dispose());
        throw error;
      }
    });
    const probabilities = softmax(levels[6].values);
    this.dropFeatures(featuresId);
    this.features.set(featuresId, { levels, tensors, probabilities });
    const limit = this.options.maxFeatureSets ?? 16;
    while (this.features.size > limit) this.dropFeatures(this.features.keys().next().value!);
    return probabilities;
  }

  dropFeatures(featuresId: string): void {
    this.features.get(featuresId)?.tensors?.forEach((t) => t.dispose());
    this.features.delete(featuresId);
  }

  private featureTensors(featuresId: string): tf.Tensor[] {
    const set = this.features.get(featuresId);
    if (!set) throw new EngineError('bad-input', `no features under id "${featuresId}"; extract the image first`);
    // Most recently used goes last (the Map keeps insertion order).
    this.features.delete(featuresId);
    this.features.set(featuresId, set);
    set.tensors ??= set.levels.map((level) => tf.tensor(level.values, level.shape));
    return set.tensors;
  }

  private batchSize(): number {
    const size = this.requirePack().manifest.imageSize;
    return Math.max(1, Math.floor((this.options.batchPixels ?? DEFAULT_BATCH_PIXELS) / (size * size)));
  }

  /**
   * Generates one row of `samples` images per entry of `levels` (row r uses only level levels[r]). Sample i uses
   * the noise of (seed, 'sp', i) in every row. Rows are batched together and streamed in order via `onRow`;
   * `isCancelled` is checked before every batch.
   */
  async generate(
    request: GenerateRequest,
    onRow: (level: number, images: RgbaImage[]) => void,
    isCancelled: CancelCheck = () => false,
  ): Promise<void> {
    const pack = this.requirePack();
    const { levels: levelTable, imageSize: size } = pack.manifest;
    const { sp } = pack.arch;
    validateGenerate(request, levelTable.length, sp.numClasses, size);
    await this.ready();

    const jobs = request.levels.flatMap((level, row) =>
      Array.from({ length: request.samples }, (_, sample) => ({ row, level, sample })),
    );
    const rowImages: RgbaImage[][] = request.levels.map(() => []);
    const maxBatch = this.batchSize();
    let nextRowToSend = 0;
    for (let start = 0; start < jobs.length; start += maxBatch) {
      await yieldToEventLoop();
      if (isCancelled()) throw new CancelledError();
      const batch = jobs.slice(start, start + maxBatch);
      const values = await this.withRecovery(() => this.generateBatch(request, batch));
      batch.forEach((job, i) => rowImages[job.row].push(signedToRgba(values, size, size, i * size * size * 3)));
      while (nextRowToSend < request.levels.length && rowImages[nextRowToSend].length === request.samples) {
        onRow(request.levels[nextRowToSend], rowImages[nextRowToSend]);
        nextRowToSend++;
      }
    }
  }

  private async generateBatch(request: GenerateRequest, batch: { level: number; sample: number }[]): Promise<Float32Array> {
    const pack = this.requirePack();
    const { levels: levelTable, imageSize: size } = pack.manifest;
    const features = this.featureTensors(request.featuresId);
    const z = standardNormalBatch(request.seed, 'sp', batch.map((job) => job.sample), pack.arch.sp.zDim);
    const on = batch.map((job) => levelTable.map((_, l) => (l === job.level ? 1 : 0)));
    const out = tf.tidy(() =>
      spGenerate(this.weight, pack.arch.sp, levelTable, {
        z: tf.tensor2d(z, [batch.length, pack.arch.sp.zDim]),
        classes: tf.fill([batch.length], request.classIndex, 'int32') as tf.Tensor1D,
        features, // batch 1, broadcast over the rows
        on,
        mask: request.mask ? tf.tensor4d(Float32Array.from(request.mask), [1, size, size, 1]) : tf.ones([1, size, size, 1]),
      }),
    );
    try {
      return (await out.data()) as Float32Array;
    } finally {
      out.dispose();
    }
  }

  /** LAG candidates of one image, its low-resolution input, and the per-pixel spread across candidates. */
  async lag(request: LagRequest, isCancelled: CancelCheck = () => false): Promise<LagResult> {
    const pack = this.requirePack();
    const size = pack.manifest.imageSize;
    const { lrSize, noiseChannels } = pack.arch.lag;
    if (!Number.isInteger(request.candidates) || request.candidates < 1 || request.candidates > 256) {
      throw new EngineError('bad-input', `candidates must be an integer in 1..256, got ${request.candidates}`);
    }
    if (!(request.amplitude >= 0 && request.amplitude <= 1)) {
      throw new EngineError('bad-input', `amplitude must be in [0, 1], got ${request.amplitude}`);
    }
    if (!Number.isInteger(request.seed)) throw new EngineError('bad-input', `seed must be an integer, got ${request.seed}`);
    const pixels = rgbaToSigned(request.image, size); // bad-input for a wrong size, zero size or non-byte data
    await this.ready();

    const lr = await this.withRecovery(async () => {
      const t = tf.tidy(() => lagDownscale(pack.arch.lag, tf.tensor4d(pixels, [1, size, size, 3])));
      try {
        return (await t.data()) as Float32Array;
      } finally {
        t.dispose();
      }
    });
    const count = request.candidates;
    const outputs = new Float32Array(count * size * size * 3);
    const maxBatch = this.batchSize();
    for (let start = 0; start < count; start += maxBatch) {
      await yieldToEventLoop();
      if (isCancelled()) throw new CancelledError();
      const indices = Array.from({ length: Math.min(maxBatch, count - start) }, (_, i) => start + i);
      const noise = standardNormalBatch(request.seed, 'lag', indices, lrSize * lrSize * noiseChannels);
      const lrBatch = new Float32Array(indices.length * lr.length);
      indices.forEach((_, i) => lrBatch.set(lr, i * lr.length));
      const values = await this.withRecovery(() =>
        this.runLag({ lr: lrBatch, noise, amplitude: request.amplitude, batch: indices.length }),
      );
      outputs.set(values, start * size * size * 3);
    }

    const { std, maxStd } = spreadAcrossCandidates(outputs, count, size * size);
    return {
      lr: signedToRgba(lr, lrSize, lrSize),
      candidates: Array.from({ length: count }, (_, i) => signedToRgba(outputs, size, size, i * size * size * 3)),
      stdMap: heatMap(std, size, size, maxStd),
      maxStd,
    };
  }

  memory(): { numTensors: number; numBytes: number } {
    const { numTensors, numBytes } = tf.memory();
    return { numTensors, numBytes };
  }

  /** Frees every tensor the engine holds (weights, features). */
  dispose(): void {
    this.disposeBackendTensors();
    this.features.clear();
    this.pack = null;
  }
}

/**
 * Reads several tensors back in one transfer (one GPU sync instead of one per tensor): flattened, concatenated on
 * the backend, split on the host.
 */
async function readTogether(tensors: tf.Tensor[]): Promise<HostTensor[]> {
  const joined = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1])), 0));
  let values: Float32Array;
  try {
    values = (await joined.data()) as Float32Array;
  } finally {
    joined.dispose();
  }
  let offset = 0;
  return tensors.map((t) => {
    const part = values.slice(offset, offset + t.size);
    offset += t.size;
    return { shape: [...t.shape], values: part };
  });
}

/**
 * Lets queued messages (a `cancel`, a newer request) be delivered between batches: on the cpu and wasm backends
 * `tensor.data()` resolves without ever returning to the event loop.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function validateGenerate(request: GenerateRequest, levelCount: number, numClasses: number, size: number): void {
  if (!Array.isArray(request.levels) || request.levels.length === 0) throw new EngineError('bad-input', 'levels must not be empty');
  for (const level of request.levels) {
    if (!Number.isInteger(level) || level < 0 || level >= levelCount) {
      throw new EngineError('bad-input', `level ${level} is not in 0..${levelCount - 1}`);
    }
  }
  if (!Number.isInteger(request.samples) || request.samples < 1 || request.samples > 256) {
    throw new EngineError('bad-input', `samples must be an integer in 1..256, got ${request.samples}`);
  }
  if (!Number.isInteger(request.classIndex) || request.classIndex < 0 || request.classIndex >= numClasses) {
    throw new EngineError('bad-input', `classIndex ${request.classIndex} is not in 0..${numClasses - 1}`);
  }
  if (!Number.isInteger(request.seed)) throw new EngineError('bad-input', `seed must be an integer, got ${request.seed}`);
  if (typeof request.featuresId !== 'string' || request.featuresId === '') {
    throw new EngineError('bad-input', 'featuresId must be a non-empty string');
  }
  if (request.mask !== undefined && request.mask !== null) {
    const mask = request.mask as unknown;
    if (!(mask instanceof Float32Array) && !Array.isArray(mask)) throw new EngineError('bad-input', 'mask must be a Float32Array');
    if (request.mask.length !== size * size) {
      throw new EngineError('bad-input', `mask has ${request.mask.length} values; ${size}x${size} needs ${size * size}`);
    }
    for (let i = 0; i < request.mask.length; i++) {
      const v = request.mask[i];
      if (!(v >= 0 && v <= 1)) throw new EngineError('bad-input', `mask value ${v} at ${i} is not in [0, 1]`);
    }
  }
}

/** Softmax in float64 (the class prediction shown in the app). */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / sum);
}

/**
 * Per-pixel standard deviation across `count` RGB images (population std per channel, averaged over the three
 * channels), in [-1, 1] units; and its maximum.
 */
export function spreadAcrossCandidates(images: Float32Array, count: number, pixels: number): { std: Float32Array; maxStd: number } {
  const std = new Float32Array(pixels);
  let maxStd = 0;
  const stride = pixels * 3;
  for (let p = 0; p < pixels; p++) {
    let channelStdSum = 0;
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < count; i++) {
        const v = images[i * stride + p * 3 + c];
        sum += v;
        sumSq += v * v;
      }
      const mean = sum / count;
      channelStdSum += Math.sqrt(Math.max(0, sumSq / count - mean * mean));
    }
    std[p] = channelStdSum / 3;
    maxStd = Math.max(maxStd, std[p]);
  }
  return { std, maxStd };
}
