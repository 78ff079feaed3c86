// The VGG pyramid (docs/pack-format.md, "VGG pyramid"): 5 conv blocks with max-pooling, fc6, fc7, fc8.
// Its 7 levels (pool1..pool5, fc7, fc8) are the semantic features the Semantic Pyramid generator is conditioned on.
import * as tf from '@tensorflow/tfjs-core';
import { archError } from './arch';
import { conv, convShapes, dense, denseShapes, type WeightShape, type Weights } from './ops';

export interface VggArch {
  imageSize: number;
  widths: number[];
  convsPerBlock: number[];
  fcWidth: number;
  numClasses: number;
}

/** `arch` has passed the pack schema (types, bounds, one width and conv count per pooling block). */
export function parseVggArch(arch: Record<string, unknown>): VggArch {
  const { imageSize, widths, convsPerBlock, fcWidth, numClasses } = arch as unknown as VggArch;
  const parsed: VggArch = { imageSize, widths: [...widths], convsPerBlock: [...convsPerBlock], fcWidth, numClasses };
  if (parsed.imageSize % 32 !== 0) throw archError('vgg', `imageSize ${parsed.imageSize} is not a multiple of 32`);
  return parsed;
}

export function vggWeightShapes(arch: VggArch): WeightShape[] {
  const shapes: WeightShape[] = [];
  let inChannels = 3;
  arch.convsPerBlock.forEach((convs, b) => {
    for (let i = 1; i <= convs; i++) {
      shapes.push(...convShapes(`vgg.conv${b + 1}_${i}`, 3, inChannels, arch.widths[b]));
      inChannels = arch.widths[b];
    }
  });
  const pool5Size = arch.imageSize / 32;
  shapes.push(...denseShapes('vgg.fc6', pool5Size * pool5Size * arch.widths[4], arch.fcWidth));
  shapes.push(...denseShapes('vgg.fc7', arch.fcWidth, arch.fcWidth));
  shapes.push(...denseShapes('vgg.fc8', arch.fcWidth, arch.numClasses));
  return shapes;
}

/** The 7 pyramid levels of `image` ([B, S, S, 3] in [-1, 1]): pool1..pool5 as NHWC, fc7 [B, F], fc8 logits [B, K]. */
export function vggPyramid(w: Weights, arch: VggArch, image: tf.Tensor4D): tf.Tensor[] {
  const levels: tf.Tensor[] = [];
  let x = image;
  arch.convsPerBlock.forEach((convs, b) => {
    for (let i = 1; i <= convs; i++) x = conv(x, w, `vgg.conv${b + 1}_${i}`, 'relu');
    x = tf.maxPool(x, 2, 2, 'valid');
    levels.push(x);
  });
  const flat = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D; // NHWC flatten, as the exporter permuted fc6's rows
  const fc6 = dense(flat, w, 'vgg.fc6', 'relu');
  const fc7 = dense(fc6, w, 'vgg.fc7', 'relu');
  levels.push(fc7, dense(fc7, w, 'vgg.fc8'));
  return levels;
}
