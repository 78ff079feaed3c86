// Small TF.js building blocks shared by vgg.ts, sp.ts and lag.ts. All tensors are NHWC; kernels HWIO.
import * as tf from '@tensorflow/tfjs-core';

/** Looks a weight up by its pack name (e.g. `sp.block1.conv1.kernel`); throws if the pack lacks it. */
export type Weights = (name: string) => tf.Tensor;

/** A weight the architecture requires, with the shape it must have. */
export interface WeightShape {
  name: string;
  shape: number[];
}

export type Activation = 'linear' | 'relu' | 'leakyrelu';

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

export function dense(x: tf.Tensor2D, w: Weights, layer: string, activation: Activation = 'linear'): tf.Tensor2D {
  return tf.fused.matMul({
    a: x,
    b: w(`${layer}.kernel`) as tf.Tensor2D,
    bias: w(`${layer}.bias`),
    activation,
    leakyreluAlpha: LRELU_SLOPE,
  }) as tf.Tensor2D;
}

/** Class-conditional BN with folded tables: x * scale[y] + shift[y]. */
export function ccbn(x: tf.Tensor4D, classes: tf.Tensor1D, w: Weights, layer: string): tf.Tensor4D {
  const channels = x.shape[3];
  const scale = tf.reshape(tf.gather(w(`${layer}.scale`), classes), [-1, 1, 1, channels]);
  const shift = tf.reshape(tf.gather(w(`${layer}.shift`), classes), [-1, 1, 1, channels]);
  return tf.add(tf.mul(x, scale), shift);
}

/** Nearest-neighbour upsampling by an integer factor; pixels are replicated exactly (factors are powers of 2). */
export function up(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  if (factor === 1) return x;
  return tf.image.resizeNearestNeighbor(x, [x.shape[1] * factor, x.shape[2] * factor], false, false);
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
