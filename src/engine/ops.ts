// Small TF.js building blocks shared by vgg.ts, sp.ts and lag.ts. All tensors are NHWC; kernels HWIO.
import * as tf from '@tensorflow/tfjs-core';

/** Looks a weight up by its pack name (e.g. `sp.block1.conv1.kernel`); throws if the pack lacks it. */
export type Weights = (name: string) => tf.Tensor;

/** A weight the architecture requires, with the shape it must have. */
export interface WeightShape {
  name: string;
  shape: number[];
}

export type Activation = 'linear' | 'relu' | 'leakyrelu' | 'sigmoid';

/** LeakyReLU slope used by every lrelu of the pack format. */
export const LRELU_SLOPE = 0.2;

/** Conv (stride 1, same padding) + bias + activation as one fused op: same numbers, fewer passes on GPUs. */
export function conv(x: tf.Tensor4D, w: Weights, layer: string, activation: Activation = 'linear'): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: w(`${layer}.kernel`) as tf.Tensor4D,
    strides: 1,
    pad: 'same',
    bias: w(`${layer}.bias`),
    activation,
    leakyreluAlpha: LRELU_SLOPE,
  });
}

/**
 * Sub-pixel decomposition of `conv3x3(up(x, 2))` (stride 1, same padding): output pixel (2i+a, 2j+b) only sees
 * low-resolution rows i-1+a..i+a and columns j-1+b..j+b, so each phase (a, b) is a 2x2 conv on x itself with the
 * 3x3 taps that land on the same low-resolution pixel summed. 16 instead of 36 multiply-adds per low-resolution
 * pixel and channel pair, the same function up to float32 round-off in the summed kernels.
 * Row taps: phase 0 uses rows (i-1, i) with kernels (w[0], w[1] + w[2]); phase 1 uses (i, i+1) with (w[0] + w[1], w[2]).
 */
const PHASE_TAP_GROUPS = [
  [[0], [1, 2]],
  [[0, 1], [2]],
] as const;

/** The phases (row phase a, column phase b), in the order interleavePhases expects. */
const PHASES = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
] as const;

/** Name of the derived 2x2 kernel of phase (a, b) of an upsample-then-conv3x3 layer. */
export function phaseKernelName(layer: string, a: number, b: number): string {
  return `${layer}.kernel.phase${a}${b}`;
}

/** The names of the four derived phase kernels of an upsample-then-conv3x3 layer. */
export function phaseKernelNames(layer: string): string[] {
  return PHASES.map(([a, b]) => phaseKernelName(layer, a, b));
}

/**
 * The four phase kernels [2, 2, in, out] of a 3x3 HWIO kernel, keyed by `phaseKernelName`. Derived once when the
 * weights are uploaded; the caller owns (and disposes) the returned tensors.
 */
export function derivePhaseKernels(layer: string, kernel: tf.Tensor4D): Map<string, tf.Tensor4D> {
  const derived = new Map<string, tf.Tensor4D>();
  tf.tidy(() => {
    const sumTaps = (taps: readonly number[], axis: 0 | 1): tf.Tensor4D => {
      const parts = taps.map((t) =>
        axis === 0 ? tf.slice(kernel, [t, 0, 0, 0], [1, -1, -1, -1]) : tf.slice(kernel, [0, t, 0, 0], [-1, 1, -1, -1]),
      );
      return parts.length === 1 ? parts[0] : tf.addN(parts);
    };
    for (const [a, b] of PHASES) {
      const rows = tf.concat(
        PHASE_TAP_GROUPS[a].map((taps) => sumTaps(taps, 0)),
        0,
      ) as tf.Tensor4D; // [2, 3, in, out]
      const cols = PHASE_TAP_GROUPS[b].map((taps) => {
        const parts = taps.map((t) => tf.slice(rows, [0, t, 0, 0], [-1, 1, -1, -1]));
        return parts.length === 1 ? parts[0] : tf.addN(parts);
      });
      const phase = tf.concat(cols, 1) as tf.Tensor4D; // [2, 2, in, out]
      derived.set(phaseKernelName(layer, a, b), tf.keep(phase));
    }
  });
  return derived;
}

/**
 * `conv3x3(up(x, 2))` + bias + activation through the four phase kernels of `derivePhaseKernels`: each phase is a
 * 2x2 conv on the low-resolution x with the padding that puts its taps where the 3x3 conv had them; the phases
 * are then interleaved into the 2x image.
 */
export function upsampleConv(
  x: tf.Tensor4D,
  w: Weights,
  layer: string,
  activation: Activation = 'linear',
): tf.Tensor4D {
  const bias = w(`${layer}.bias`);
  const phases = PHASES.map(([a, b]) =>
    tf.fused.conv2d({
      x,
      filter: w(phaseKernelName(layer, a, b)) as tf.Tensor4D,
      strides: 1,
      pad: [
        [0, 0],
        [1 - a, a],
        [1 - b, b],
        [0, 0],
      ],
      bias,
      activation,
      leakyreluAlpha: LRELU_SLOPE,
    }),
  );
  return interleavePhases(phases);
}

/**
 * [B, H, W, C] phases in PHASES order -> [B, 2H, 2W, C] with phase (a, b) at pixels (2i+a, 2j+b). Two stacks whose
 * memory order already is the interleaved one (reshapes are free): on wasm this is 7x faster than tf.depthToSpace,
 * whose kernel copies element by element (32x16x16x256 -> 32x32x32x64: 8.6 ms vs 60 ms).
 */
export function interleavePhases(phases: tf.Tensor4D[]): tf.Tensor4D {
  const [batch, height, width, channels] = phases[0].shape;
  const rowPhase = (a: number) =>
    tf.reshape(tf.stack([phases[2 * a], phases[2 * a + 1]], 3), [batch, height, 2 * width, channels]);
  return tf.reshape(tf.stack([rowPhase(0), rowPhase(1)], 2), [batch, 2 * height, 2 * width, channels]);
}

export function dense(x: tf.Tensor2D, w: Weights, layer: string, activation: Activation = 'linear'): tf.Tensor2D {
  return tf.fused.matMul({
    a: x,
    b: w(`${layer}.kernel`) as tf.Tensor2D,
    bias: w(`${layer}.bias`),
    activation,
    leakyreluAlpha: LRELU_SLOPE,
  }) as tf.Tensor2D;
}

/**
 * The class input of the class-conditional layers: [B] int32 class indices, or [B, numClasses] float32 weights
 * that blend the classes' table rows (a one-hot row is the same as its index).
 */
export type ClassInput = tf.Tensor1D | tf.Tensor2D;

/** Rows of a [numClasses, C] table for each batch entry: gathered by index, or blended by weights. */
function classRows(table: tf.Tensor, classes: ClassInput): tf.Tensor {
  return classes.rank === 1 ? tf.gather(table, classes) : tf.matMul(classes as tf.Tensor2D, table as tf.Tensor2D);
}

/** Class-conditional BN with folded tables: x * scale[y] + shift[y] (a blended y blends the rows). */
export function ccbn(x: tf.Tensor4D, classes: ClassInput, w: Weights, layer: string): tf.Tensor4D {
  const channels = x.shape[3];
  const scale = tf.reshape(classRows(w(`${layer}.scale`), classes), [-1, 1, 1, channels]);
  const shift = tf.reshape(classRows(w(`${layer}.shift`), classes), [-1, 1, 1, channels]);
  return tf.add(tf.mul(x, scale), shift);
}

/** Nearest-neighbour upsampling by an integer factor; pixels are replicated exactly (factors are powers of 2). */
export function up(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  if (factor === 1) return x;
  return tf.image.resizeNearestNeighbor(x, [x.shape[1] * factor, x.shape[2] * factor], false, false);
}

/**
 * `x + up(small, factor)`, the upsampled tensor never materialised: x viewed as [B * H/f, f, W/f, f, C] plus small
 * as [B * H/f, 1, W/f, 1, C] spreads each low-resolution pixel over its f x f block by broadcasting. The same sums
 * bit for bit; on wasm 2.4x faster than ResizeNearestNeighbor + Add (8x64x64x32: 3.3 ms against 8.0 ms).
 */
export function addUpsampled(x: tf.Tensor4D, small: tf.Tensor4D): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  const factor = height / small.shape[1];
  if (factor === 1) return tf.add(x, small);
  if (small.shape[0] !== batch || small.shape[3] !== channels) return tf.add(x, up(small, factor));
  const rows = (batch * height) / factor;
  const sum = tf.add(
    tf.reshape(x, [rows, factor, width / factor, factor, channels]),
    tf.reshape(small, [rows, 1, width / factor, 1, channels]),
  );
  return tf.reshape(sum, [batch, height, width, channels]);
}

export function avgPool(x: tf.Tensor4D, size: number): tf.Tensor4D {
  if (size === 1) return x;
  return tf.avgPool(x, size, size, 'valid');
}

export function convShapes(layer: string, kernelSize: number, inChannels: number, outChannels: number): WeightShape[] {
  return [
    { name: `${layer}.kernel`, shape: [kernelSize, kernelSize, inChannels, outChannels] },
    { name: `${layer}.bias`, shape: [outChannels] },
  ];
}

export function denseShapes(layer: string, inFeatures: number, outFeatures: number): WeightShape[] {
  return [
    { name: `${layer}.kernel`, shape: [inFeatures, outFeatures] },
    { name: `${layer}.bias`, shape: [outFeatures] },
  ];
}

export function ccbnShapes(layer: string, numClasses: number, channels: number): WeightShape[] {
  return [
    { name: `${layer}.scale`, shape: [numClasses, channels] },
    { name: `${layer}.shift`, shape: [numClasses, channels] },
  ];
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}
