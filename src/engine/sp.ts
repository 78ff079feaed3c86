// The Semantic Pyramid generator (docs/pack-format.md, "Semantic Pyramid generator"; Shocher et al. 2020):
// noise z + class y + the VGG features of chosen levels (gated per row by `on` and a painted mask) -> image.
import * as tf from '@tensorflow/tfjs-core';
import { archError } from './arch';
import { FC7_LEVEL, FC8_LEVEL, isInjectable } from './levels';
import type { LevelInfo } from './protocol';
import {
  addUpsampled,
  avgPool,
  ccbn,
  ccbnShapes,
  conv,
  type ClassInput,
  convShapes,
  dense,
  denseShapes,
  isPowerOfTwo,
  upsampleConv,
  type WeightShape,
  type Weights,
} from './ops';

export interface SpInjection {
  /** Level name (pool1..pool5). */
  level: string;
  /** 0 = the initial baseSize tensor, k = the output of block k. */
  stage: number;
}

export interface SpArch {
  zDim: number;
  numClasses: number;
  baseSize: number;
  channels: number[];
  levelChannels: number[];
  injections: SpInjection[];
}

/** `arch` has passed the pack schema (types, bounds, list lengths); this checks it against the levels and imageSize. */
export function parseSpArch(arch: Record<string, unknown>, levels: LevelInfo[], imageSize: number): SpArch {
  const { zDim, numClasses, baseSize, channels, levelChannels, injections } = arch as unknown as SpArch;
  const parsed: SpArch = {
    zDim,
    numClasses,
    baseSize,
    channels: [...channels],
    levelChannels: [...levelChannels],
    injections: [],
  };
  if (parsed.baseSize * 2 ** (channels.length - 1) !== imageSize) {
    throw archError('sp', `baseSize ${parsed.baseSize} * 2^${channels.length - 1} blocks != imageSize ${imageSize}`);
  }
  parsed.levelChannels.forEach((c, i) => {
    if (c !== levels[i].channels) {
      throw archError(
        'sp',
        `levelChannels[${i}] = ${c} but level ${levels[i].name} has ${levels[i].channels} channels`,
      );
    }
  });
  for (const entry of injections) {
    const level = levels.find((l) => l.name === entry.level);
    const stage = entry.stage;
    if (!level || level.size === null)
      throw archError('sp', `injection level ${JSON.stringify(entry.level)} is not a spatial level`);
    if (!isInjectable(level, imageSize))
      throw archError('sp', `level ${level.name} is at full image resolution: it is never injected`);
    if (stage >= channels.length) {
      throw archError('sp', `injection stage ${JSON.stringify(stage)} of ${level.name} is out of range`);
    }
    const stageSize = parsed.baseSize * 2 ** stage;
    if (stageSize % level.size !== 0 || !isPowerOfTwo(stageSize / level.size)) {
      throw archError(
        'sp',
        `level ${level.name} (size ${level.size}) cannot be injected at stage ${stage} (size ${stageSize})`,
      );
    }
    parsed.injections.push({ level: level.name, stage });
  }
  return parsed;
}

export function spWeightShapes(arch: SpArch, levels: LevelInfo[]): WeightShape[] {
  const { baseSize, channels, numClasses } = arch;
  const denseOut = baseSize * baseSize * channels[0];
  const shapes: WeightShape[] = [
    ...denseShapes('sp.z_dense', arch.zDim, denseOut),
    ...denseShapes('sp.fc7_dense', levels[FC7_LEVEL].channels, denseOut),
    ...denseShapes('sp.fc8_dense', levels[FC8_LEVEL].channels, denseOut),
  ];
  for (const injection of arch.injections) {
    const level = levels.find((l) => l.name === injection.level)!;
    shapes.push(...convShapes(`sp.inject_${level.name}`, 1, level.channels, channels[injection.stage]));
  }
  for (let k = 1; k < channels.length; k++) {
    const [cin, cout] = [channels[k - 1], channels[k]];
    shapes.push(
      ...ccbnShapes(`sp.block${k}.bn1`, numClasses, cin),
      ...convShapes(`sp.block${k}.conv1`, 3, cin, cout),
      ...ccbnShapes(`sp.block${k}.bn2`, numClasses, cout),
      ...convShapes(`sp.block${k}.conv2`, 3, cout, cout),
      ...convShapes(`sp.block${k}.skip`, 1, cin, cout),
    );
  }
  shapes.push(...ccbnShapes('sp.out_bn', numClasses, channels[channels.length - 1]));
  shapes.push(...convShapes(SP_OUTPUT_CONV, 3, channels[channels.length - 1], 3));
  return shapes;
}

export interface SpInputs {
  /** [B, zDim] */
  z: tf.Tensor2D;
  /** [B] int32 class indices, or [B, numClasses] weights blending the classes (the only class-dependent path is
   * the class-conditional batch norms, so blending their rows blends the class). */
  classes: ClassInput;
  /** The 7 levels; each has batch B, or batch 1 to share one image's features across all rows (broadcast). */
  features: tf.Tensor[];
  /** [B][7] level on/off per row, as plain numbers: levels off in every row are skipped (their term is 0). */
  on: number[][];
  /** [B or 1, S, S, 1] image-resolution mask in [0, 1]. */
  mask: tf.Tensor4D;
  /** True when `w` resolves each up-block's conv1 to the class-folded weights of `foldClassNorms` (every row has
   * that one class): the blocks then run conv1 with the ReLU fused and skip bn2. */
  classNormsFolded?: boolean;
}

/** One SP forward pass; returns [B, S, S, 3] in [-1, 1]. Call inside tf.tidy. */
export function spGenerate(w: Weights, arch: SpArch, levels: LevelInfo[], inputs: SpInputs): tf.Tensor4D {
  const { z, classes, features, on, mask } = inputs;
  const batch = z.shape[0];
  const imageSize = mask.shape[1];
  const onTensor = tf.tensor2d(on, [batch, levels.length]);
  const levelUsed = levels.map((_, l) => on.some((row) => row[l] !== 0));

  // m_l = on[:, l] * avgpool(mask, S / s_l) for spatial levels, on[:, l] for fc levels.
  const levelMask = (l: number): tf.Tensor => {
    const gate = tf.slice(onTensor, [0, l], [batch, 1]);
    const size = levels[l].size;
    if (size === null) return gate;
    return tf.mul(tf.reshape(gate, [batch, 1, 1, 1]), avgPool(mask, imageSize / size));
  };

  const { baseSize, channels } = arch;
  let flat = dense(z, w, 'sp.z_dense');
  if (levelUsed[FC7_LEVEL])
    flat = tf.add(flat, tf.mul(levelMask(FC7_LEVEL), dense(features[FC7_LEVEL] as tf.Tensor2D, w, 'sp.fc7_dense')));
  if (levelUsed[FC8_LEVEL])
    flat = tf.add(flat, tf.mul(levelMask(FC8_LEVEL), dense(features[FC8_LEVEL] as tf.Tensor2D, w, 'sp.fc8_dense')));
  let h = tf.reshape(flat, [batch, baseSize, baseSize, channels[0]]) as tf.Tensor4D; // dense output is NHWC-ordered

  for (let stage = 0; stage < channels.length; stage++) {
    if (stage > 0) h = block(h, classes, w, `sp.block${stage}`, inputs.classNormsFolded === true);
    for (const injection of arch.injections) {
      if (injection.stage !== stage) continue;
      const l = levels.findIndex((level) => level.name === injection.level);
      if (!levelUsed[l]) continue; // exactly zero for every row
      const projected = conv(features[l] as tf.Tensor4D, w, `sp.inject_${injection.level}`);
      const gated = tf.mul(levelMask(l), projected) as tf.Tensor4D;
      h = addUpsampled(h, gated);
    }
  }
  const activated = tf.relu(ccbn(h, classes, w, 'sp.out_bn'));
  // tanh(v) = 2 * sigmoid(2v) - 1: the conv with doubled weights runs the sigmoid inside (a tanh kernel is not
  // fusable), and two cheap kernels on the 3-channel output finish it.
  const halfway = conv(activated, w, SP_OUTPUT_DOUBLED, 'sigmoid');
  return tf.sub(tf.mul(halfway, 2), 1) as tf.Tensor4D;
}

/** The output conv with kernel and bias doubled (derivedWeights.ts), for its tanh as a fused sigmoid. */
export const SP_OUTPUT_CONV = 'sp.out_conv';
export const SP_OUTPUT_DOUBLED = 'sp.out_conv.doubled';

/** The `conv3x3(up(x, 2))` layers, which run as sub-pixel phases (ops.ts, upsampleConv). */
export function spUpsampleConvLayers(arch: SpArch): string[] {
  return arch.channels.slice(1).map((_, k) => `sp.block${k + 1}.conv1`);
}

/** The up-blocks' conv1 layers and the class-conditional BN that follows each (what `foldClassNorms` folds). */
export function spClassNormFolds(arch: SpArch): { conv: string; norm: string }[] {
  return spUpsampleConvLayers(arch).map((conv) => ({ conv, norm: conv.replace(/\.conv1$/, '.bn2') }));
}

/** BigGAN-style residual up-block with class-conditional BN; `normFolded`: bn2 lives in conv1's weights. */
function block(h: tf.Tensor4D, classes: ClassInput, w: Weights, prefix: string, normFolded: boolean): tf.Tensor4D {
  const x = tf.relu(ccbn(h, classes, w, `${prefix}.bn1`));
  let t = normFolded
    ? upsampleConv(x, w, `${prefix}.conv1`, 'relu') // relu(bn2(conv3x3(up(., 2)))), bn2 folded in
    : tf.relu(ccbn(upsampleConv(x, w, `${prefix}.conv1`), classes, w, `${prefix}.bn2`));
  t = conv(t, w, `${prefix}.conv2`);
  // conv1x1(up(h, 2)) == up(conv1x1(h), 2) for nearest upsampling: the 1x1 conv on 4x fewer pixels.
  return addUpsampled(t, conv(h, w, `${prefix}.skip`));
}
