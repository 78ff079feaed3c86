// The engine: owns the TF.js backend, the loaded pack's weights, and the feature caches. A plain class, used by
// worker.ts in the browser and directly by the tests in Node.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo, WasmOptions } from './backend';
import { CancelledError, EngineError } from './errors';
import { deriveWeights, foldClassNorms } from './derivedWeights';
import { heatMap, rgbaToSigned, signedToRgba } from './image';
import { lagDownscale, lagGenerate } from './lag';
import { FC8_LEVEL } from './levels';
import type { Weights } from './ops';
import { classWeightRows, frameTimes, repeatRows, slerp, validateInterpolate } from './interpolation';
import { standardNormal, standardNormalBatch } from './noise';
import { FeatureCache } from './featureCache';
import { loadPack, type LoadedPack, type LoadPackRequest } from './pack';
import { BackendRecovery } from './recovery';
import type {
  BackendName,
  BackendRequest,
  GenerateRequest,
  InterpolateRequest,
  LagRequest,
  LagResult,
  PackSummary,
  RgbaImage,
} from './protocol';
import { softmax, spreadAcrossCandidates, validateGenerate, validateLag } from './requestChecks';
import { spGenerate } from './sp';
import { classInput, readAndDispose, readTogether, yieldToEventLoop, type HostTensor } from './tensorIo';
import { vggPyramid } from './vgg';
import { warmUp } from './warmUp';

export type { HostTensor } from './tensorIo';
export type { LoadPackRequest } from './pack';

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

export type CancelCheck = () => boolean;

/** Pixels per forward batch unless EngineOptions.batchPixels says otherwise: 32 images at 32 px. */
export const DEFAULT_BATCH_PIXELS = 32 * 32 * 32;

export class PyramidEngine {
  private readonly options: EngineOptions;
  private readonly recovery: BackendRecovery;
  private pack: LoadedPack | null = null;
  private weightTensors = new Map<string, tf.Tensor>();
  /** One class's SP conv1 weights with its norms folded in (spWeights). */
  private classFold: { classIndex: number; weights: Map<string, tf.Tensor> } | null = null;
  private readonly features: FeatureCache;

  constructor(options: EngineOptions = {}) {
    this.options = options;
    this.features = new FeatureCache(options.maxFeatureSets ?? 16);
    this.recovery = new BackendRecovery({
      beforeSwitch: () => this.disposeBackendTensors(),
      afterSwitch: (info, reason) => {
        if (this.pack) this.uploadWeights(this.pack);
        this.options.onBackendChanged?.(info.backend, reason);
      },
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Backend
  // -------------------------------------------------------------------------------------------------------------
  init(request: BackendRequest = 'auto', wasm?: WasmOptions): Promise<BackendInfo> {
    return this.recovery.init(request, wasm);
  }

  get backend(): BackendInfo | null {
    return this.recovery.backend;
  }

  private disposeBackendTensors(): void {
    this.releaseClassFold();
    for (const tensor of this.weightTensors.values()) tensor.dispose();
    this.weightTensors.clear();
    this.features.releaseBackendTensors();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Pack
  // -------------------------------------------------------------------------------------------------------------
  async loadPack(request: LoadPackRequest): Promise<{ summary: PackSummary; fromCache: boolean }> {
    await this.recovery.ready();
    const loaded = await loadPack(request);
    // Past this point the pack replaces the current one; a stop that comes later lets it finish.
    if (request.signal?.aborted) throw new CancelledError('pack load stopped');
    this.disposeBackendTensors();
    this.features.clear(); // features of another pack's VGG are meaningless for this one
    this.pack = loaded;
    request.onProgress?.('upload', 0, 1);
    this.uploadWeights(loaded);
    request.onProgress?.('upload', 1, 1);
    request.onProgress?.('warmup', 0, 1);
    await this.recovery.run(() => warmUp(this, loaded, this.recovery.backend, this.options.warmUp));
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

  /**
   * The SP weight lookup for a batch with these class rows. When every row has one class index: the loaded weights
   * with that class's norms folded into the up-blocks' conv1 (derivedWeights.ts, foldClassNorms: five kernels fewer
   * per block), kept until a batch of another class or a new pack. Otherwise the loaded weights.
   */
  private spWeights(classes: number[] | number[][]): { w: Weights; classNormsFolded: boolean } {
    const first = classes[0];
    if (typeof first !== 'number' || !classes.every((c) => c === first)) {
      return { w: this.weight, classNormsFolded: false };
    }
    if (this.classFold?.classIndex !== first) {
      this.releaseClassFold();
      this.classFold = { classIndex: first, weights: foldClassNorms(this.requirePack().arch.sp, this.weight, first) };
    }
    const folded = this.classFold.weights;
    return { w: (name) => folded.get(name) ?? this.weight(name), classNormsFolded: true };
  }

  private releaseClassFold(): void {
    for (const tensor of this.classFold?.weights.values() ?? []) tensor.dispose();
    this.classFold = null;
  }

  private requirePack(): LoadedPack {
    if (!this.pack) throw new EngineError('bad-input', 'no pack is loaded');
    return this.pack;
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

  /** SP forward. `features` have batch B or 1 (shared); `mask` is [B or 1, S, S, 1] flattened. `classes`: one
   * index per row, or one row of class weights per row (blended classes). */
  async runSp(inputs: {
    z: Float32Array;
    classes: number[] | number[][];
    on: number[][];
    mask: Float32Array;
    features: HostTensor[];
  }): Promise<Float32Array> {
    const pack = this.requirePack();
    const size = pack.manifest.imageSize;
    const batch = inputs.classes.length;
    const maskBatch = inputs.mask.length / (size * size);
    const { w, classNormsFolded } = this.spWeights(inputs.classes);
    const out = tf.tidy(() =>
      spGenerate(w, pack.arch.sp, pack.manifest.levels, {
        z: tf.tensor2d(inputs.z, [batch, pack.arch.sp.zDim]),
        classes: classInput(inputs.classes),
        features: inputs.features.map((f) => tf.tensor(f.values, f.shape)),
        on: inputs.on,
        mask: tf.tensor4d(inputs.mask, [maskBatch, size, size, 1]),
        classNormsFolded,
      }),
    );
    return readAndDispose(out);
  }

  /** LAG forward on `batch` low-resolution images and noise maps. */
  async runLag(inputs: {
    lr: Float32Array;
    noise: Float32Array;
    amplitude: number;
    batch: number;
  }): Promise<Float32Array> {
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
    return readAndDispose(out);
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
    if (typeof featuresId !== 'string' || featuresId === '')
      throw new EngineError('bad-input', 'featuresId must be a non-empty string');
    const pixels = rgbaToSigned(image, size); // bad-input for a wrong size, zero size or non-byte data
    const { levels, tensors } = await this.recovery.run(async () => {
      const tensors = tf.tidy(() => vggPyramid(this.weight, pack.arch.vgg, tf.tensor4d(pixels, [1, size, size, 3])));
      try {
        return { levels: await readTogether(tensors), tensors };
      } catch (error) {
        tensors.forEach((t) => t.dispose());
        throw error;
      }
    });
    const probabilities = softmax(levels[FC8_LEVEL].values);
    this.features.put(featuresId, levels, tensors, probabilities);
    return probabilities;
  }

  dropFeatures(featuresId: string): void {
    this.features.drop(featuresId);
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
    await this.recovery.ready();

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
      const values = await this.recovery.run(() => this.generateBatch(request, batch));
      batch.forEach((job, i) => rowImages[job.row].push(signedToRgba(values, size, size, i * size * size * 3)));
      while (nextRowToSend < request.levels.length && rowImages[nextRowToSend].length === request.samples) {
        onRow(request.levels[nextRowToSend], rowImages[nextRowToSend]);
        nextRowToSend++;
      }
    }
  }

  private generateBatch(request: GenerateRequest, batch: { level: number; sample: number }[]): Promise<Float32Array> {
    const z = standardNormalBatch(
      request.seed,
      'sp',
      batch.map((job) => job.sample),
      this.requirePack().arch.sp.zDim,
    );
    const classes = batch.map(() => request.classIndex);
    return this.spBatch(
      request.featuresId,
      batch.map((job) => job.level),
      z,
      classes,
      request.mask,
    );
  }

  /** One SP batch on kept features (batch 1, broadcast): row r at level levels[r], with z row r and class row r. */
  private async spBatch(
    featuresId: string,
    levels: number[],
    z: Float32Array,
    classes: number[] | number[][],
    mask?: Float32Array,
  ): Promise<Float32Array> {
    const pack = this.requirePack();
    const { levels: levelTable, imageSize: size } = pack.manifest;
    const features = this.features.tensors(featuresId);
    const { w, classNormsFolded } = this.spWeights(classes);
    const out = tf.tidy(() =>
      spGenerate(w, pack.arch.sp, levelTable, {
        z: tf.tensor2d(z, [levels.length, pack.arch.sp.zDim]),
        classes: classInput(classes),
        features,
        on: levels.map((level) => levelTable.map((_, l) => (l === level ? 1 : 0))),
        mask: mask ? tf.tensor4d(Float32Array.from(mask), [1, size, size, 1]) : tf.ones([1, size, size, 1]),
        classNormsFolded,
      }),
    );
    return readAndDispose(out);
  }

  /** LAG candidates of one image, its low-resolution input, and the per-pixel spread across candidates. */
  async lag(request: LagRequest, isCancelled: CancelCheck = () => false): Promise<LagResult> {
    const pack = this.requirePack();
    const size = pack.manifest.imageSize;
    const { lrSize, noiseChannels } = pack.arch.lag;
    validateLag(request);
    const lr = await this.lagInput(request.image);
    const count = request.candidates;
    const outputs = new Float32Array(count * size * size * 3);
    const maxBatch = this.batchSize();
    for (let start = 0; start < count; start += maxBatch) {
      await yieldToEventLoop();
      if (isCancelled()) throw new CancelledError();
      const indices = Array.from({ length: Math.min(maxBatch, count - start) }, (_, i) => start + i);
      const noise = standardNormalBatch(request.seed, 'lag', indices, lrSize * lrSize * noiseChannels);
      const values = await this.recovery.run(() =>
        this.runLag({ lr: repeatRows(lr, indices.length), noise, amplitude: request.amplitude, batch: indices.length }),
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

  /** The frames between two samples (protocol.ts, InterpolateRequest), first to last; cancellable per batch. */
  async interpolate(request: InterpolateRequest, isCancelled: CancelCheck = () => false): Promise<RgbaImage[]> {
    const pack = this.requirePack();
    const { levels: levelTable, imageSize: size } = pack.manifest;
    const { sp, lag } = pack.arch;
    validateInterpolate(request, levelTable.length, sp.numClasses, size);
    const times = frameTimes(request.frames);
    const noiseStream = request.model === 'sp' ? 'sp' : 'lag';
    const noiseSize = request.model === 'sp' ? sp.zDim : lag.lrSize * lag.lrSize * lag.noiseChannels;
    const [noiseA, noiseB] = [request.seedA, request.seedB].map((seed) =>
      standardNormal(seed, noiseStream, 0, noiseSize),
    );
    const lr = request.model === 'lag' ? await this.lagInput(request.image) : null;
    await this.recovery.ready();
    const frames: RgbaImage[] = [];
    const maxBatch = this.batchSize();
    for (let start = 0; start < times.length; start += maxBatch) {
      await yieldToEventLoop();
      if (isCancelled()) throw new CancelledError();
      const batchTimes = times.slice(start, start + maxBatch);
      const noise = new Float32Array(batchTimes.length * noiseSize);
      batchTimes.forEach((t, i) => noise.set(slerp(noiseA, noiseB, t), i * noiseSize));
      const values = await this.recovery.run(async () => {
        if (request.model === 'lag') {
          return this.runLag({
            lr: repeatRows(lr!, batchTimes.length),
            noise,
            amplitude: request.amplitude,
            batch: batchTimes.length,
          });
        }
        const classes = classWeightRows(request.classA, request.classB, batchTimes, sp.numClasses);
        return this.spBatch(
          request.featuresId,
          batchTimes.map(() => request.level),
          noise,
          classes,
          request.mask,
        );
      });
      batchTimes.forEach((_, i) => frames.push(signedToRgba(values, size, size, i * size * size * 3)));
    }
    return frames;
  }

  /** LAG's low-resolution input of an image at the pack's size. */
  private async lagInput(image: RgbaImage): Promise<Float32Array> {
    const pack = this.requirePack();
    const size = pack.manifest.imageSize;
    const pixels = rgbaToSigned(image, size); // bad-input for a wrong size, zero size or non-byte data
    await this.recovery.ready();
    return this.recovery.run(() =>
      readAndDispose(tf.tidy(() => lagDownscale(pack.arch.lag, tf.tensor4d(pixels, [1, size, size, 3])))),
    );
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
