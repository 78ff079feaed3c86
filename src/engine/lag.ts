// The LAG generator (docs/pack-format.md, "LAG generator"; Berthelot et al. 2020): a low-resolution image plus
// noise -> a high-resolution candidate. Amplitude 0 gives the deterministic output.
//
// The arch's `upsample` picks the image path's upsampling (the RGB of each stage and the back-projection's
// residual): "nearest" (also when absent) replicates pixels; "bilinear" uses half-pixel centres with edge pixels
// repeated, which is PyTorch's F.interpolate(mode="bilinear", align_corners=False) on every TF.js backend.
import * as tf from '@tensorflow/tfjs-core';
import { archError } from './arch';
import { addUpsampled, avgPool, conv, convShapes, upsampleConv, type WeightShape, type Weights } from './ops';

export const LAG_UPSAMPLE_MODES = ['nearest', 'bilinear'] as const;
export type LagUpsample = (typeof LAG_UPSAMPLE_MODES)[number];

export interface LagArch {
  scale: number;
  lrSize: number;
  noiseChannels: number;
  channels: number;
  resBlocks: number;
  stageChannels: number[];
  consistency: boolean;
  upsample: LagUpsample;
}

/** `arch` has passed the pack schema (types and bounds); this checks the stages against the scale and imageSize. */
export function parseLagArch(arch: Record<string, unknown>, imageSize: number): LagArch {
  const { scale, lrSize, noiseChannels, channels, resBlocks, stageChannels, consistency } = arch as unknown as LagArch;
  const upsample = arch.upsample === undefined ? 'nearest' : arch.upsample; // packs exported before the field
  if (!LAG_UPSAMPLE_MODES.includes(upsample as LagUpsample)) {
    throw archError(
      'lag',
      `upsample must be one of ${LAG_UPSAMPLE_MODES.join(', ')}, got ${JSON.stringify(arch.upsample)}`,
    );
  }
  const parsed: LagArch = {
    scale,
    lrSize,
    noiseChannels,
    channels,
    resBlocks,
    stageChannels: [...stageChannels],
    consistency,
    upsample: upsample as LagUpsample,
  };
  if (2 ** parsed.stageChannels.length !== parsed.scale) {
    throw archError('lag', `scale ${parsed.scale} needs log2(scale) stages, got ${parsed.stageChannels.length}`);
  }
  if (parsed.lrSize * parsed.scale !== imageSize) {
    throw archError('lag', `lrSize ${parsed.lrSize} * scale ${parsed.scale} != imageSize ${imageSize}`);
  }
  return parsed;
}

export function lagWeightShapes(arch: LagArch): WeightShape[] {
  const shapes = [...convShapes('lag.stem', 3, 3 + arch.noiseChannels, arch.channels)];
  for (let i = 1; i <= arch.resBlocks; i++) {
    shapes.push(...convShapes(`lag.res${i}.conv1`, 3, arch.channels, arch.channels));
    shapes.push(...convShapes(`lag.res${i}.conv2`, 3, arch.channels, arch.channels));
  }
  shapes.push(...convShapes('lag.to_rgb0', 1, arch.channels, 3));
  let inChannels = arch.channels;
  arch.stageChannels.forEach((outChannels, s) => {
    shapes.push(...convShapes(`lag.stage${s + 1}.conv_a`, 3, inChannels, outChannels));
    shapes.push(...convShapes(`lag.stage${s + 1}.conv_b`, 3, outChannels, outChannels));
    shapes.push(...convShapes(`lag.stage${s + 1}.to_rgb`, 1, outChannels, 3));
    inChannels = outChannels;
  });
  return shapes;
}

/** The `conv3x3(up(h, 2))` layers, which run as sub-pixel phases (ops.ts, upsampleConv). */
export function lagUpsampleConvLayers(arch: LagArch): string[] {
  return arch.stageChannels.map((_, s) => `lag.stage${s + 1}.conv_a`);
}

/** The low-resolution input of LAG: the image average-pooled by `scale`. */
export function lagDownscale(arch: LagArch, image: tf.Tensor4D): tf.Tensor4D {
  return avgPool(image, arch.scale);
}

/** `x + small` upsampled to x's size the image path's way (`upsample` of the arch). */
function addUpsampledImage(x: tf.Tensor4D, small: tf.Tensor4D, mode: LagUpsample): tf.Tensor4D {
  if (mode === 'nearest') return addUpsampled(x, small);
  const [height, width] = [x.shape[1], x.shape[2]];
  return tf.add(x, height === small.shape[1] ? small : tf.image.resizeBilinear(small, [height, width], false, true));
}

/** lr [B, L, L, 3], noise [B, L, L, noiseChannels], amplitude in [0, 1] -> [B, S, S, 3] in [-1, 1]. */
export function lagGenerate(
  w: Weights,
  arch: LagArch,
  lr: tf.Tensor4D,
  noise: tf.Tensor4D,
  amplitude: number,
): tf.Tensor4D {
  let h = conv(tf.concat([lr, tf.mul(noise, amplitude) as tf.Tensor4D], 3), w, 'lag.stem', 'leakyrelu');
  for (let i = 1; i <= arch.resBlocks; i++) {
    h = tf.add(h, conv(conv(h, w, `lag.res${i}.conv1`, 'leakyrelu'), w, `lag.res${i}.conv2`));
  }
  let rgb = tf.add(lr, conv(h, w, 'lag.to_rgb0')) as tf.Tensor4D;
  for (let s = 1; s <= arch.stageChannels.length; s++) {
    h = upsampleConv(h, w, `lag.stage${s}.conv_a`, 'leakyrelu'); // lrelu(conv3x3(up(h, 2)))
    h = conv(h, w, `lag.stage${s}.conv_b`, 'leakyrelu');
    rgb = addUpsampledImage(conv(h, w, `lag.stage${s}.to_rgb`), rgb, arch.upsample);
  }
  if (arch.consistency) {
    // Back-projection: with nearest upsampling the output, average-pooled by `scale`, equals lr (before
    // clipping); with bilinear it comes close (docs/pack-format.md).
    rgb = addUpsampledImage(rgb, tf.sub(lr, avgPool(rgb, arch.scale)) as tf.Tensor4D, arch.upsample);
  }
  return tf.clipByValue(rgb, -1, 1);
}
