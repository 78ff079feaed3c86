// Weights the engine derives from a pack's own (packs never store them): the sub-pixel phase kernels of every
// `conv3x3(up(x, 2))` layer (ops.ts, upsampleConv) and the SP output conv doubled (its tanh runs as a fused sigmoid),
// made when the weights are uploaded and living as long as they do; and the SP conv1 weights of one class with its
// norm folded in (foldClassNorms), made for a batch of that class.
import * as tf from '@tensorflow/tfjs-core';
import { lagUpsampleConvLayers } from './lag';
import { derivePhaseKernels, phaseKernelNames, type Weights } from './ops';
import type { PackArchitecture } from './packManifest';
import { SP_OUTPUT_CONV, SP_OUTPUT_DOUBLED, spClassNormFolds, spUpsampleConvLayers, type SpArch } from './sp';

export interface DerivedWeights {
  /** Derived tensors by weight name; the caller owns them. */
  derived: Map<string, tf.Tensor>;
  /** Pack weights that no forward pass reads any more once `derived` exists (what the derived ones replace). */
  superseded: string[];
}

export function deriveWeights(arch: PackArchitecture, w: Weights): DerivedWeights {
  const derived = new Map<string, tf.Tensor>();
  const superseded: string[] = [];
  for (const layer of [...spUpsampleConvLayers(arch.sp), ...lagUpsampleConvLayers(arch.lag)]) {
    for (const [name, kernel] of derivePhaseKernels(layer, w(`${layer}.kernel`) as tf.Tensor4D))
      derived.set(name, kernel);
    superseded.push(`${layer}.kernel`);
  }
  // Doubling is exact in float32: 2 * sigmoid(conv'(x)) - 1 with conv' = 2 * conv is tanh(conv(x)) (sp.ts).
  for (const part of ['kernel', 'bias']) {
    derived.set(
      `${SP_OUTPUT_DOUBLED}.${part}`,
      tf.tidy(() => tf.mul(w(`${SP_OUTPUT_CONV}.${part}`), 2)),
    );
    superseded.push(`${SP_OUTPUT_CONV}.${part}`);
  }
  return { derived, superseded };
}

/**
 * The SP up-blocks' conv1 weights with the class-conditional BN after them (bn2) folded in for one class. Per output
 * channel bn2(conv1(x)) = conv1(x) * scale[c] + shift[c], so each phase kernel is multiplied by scale[c] and the bias
 * becomes bias * scale[c] + shift[c]: a batch whose rows all have class c skips bn2's gathers, multiply and add, and
 * its ReLU runs inside the conv (sp.ts, `classNormsFolded`). Same function up to float32 round-off. Keyed by the
 * names of the weights they stand in for; the caller owns them.
 */
export function foldClassNorms(arch: SpArch, w: Weights, classIndex: number): Map<string, tf.Tensor> {
  const folded = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    for (const { conv, norm } of spClassNormFolds(arch)) {
      const row = (table: string) => tf.squeeze(tf.slice(w(`${norm}.${table}`), [classIndex, 0], [1, -1]), [0]);
      const [scale, shift] = [row('scale'), row('shift')];
      for (const name of phaseKernelNames(conv)) folded.set(name, tf.keep(tf.mul(w(name), scale)));
      folded.set(`${conv}.bias`, tf.keep(tf.add(tf.mul(w(`${conv}.bias`), scale), shift)));
    }
  });
  return folded;
}
