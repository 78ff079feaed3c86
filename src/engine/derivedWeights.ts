// Weights the engine derives from a pack's own when uploading them (packs never store them): the sub-pixel phase
// kernels of every `conv3x3(up(x, 2))` layer (ops.ts, upsampleConv). They live and die with the pack's weights.
import type * as tf from '@tensorflow/tfjs-core';
import { lagUpsampleConvLayers } from './lag';
import { derivePhaseKernels, type Weights } from './ops';
import type { PackArchitecture } from './packManifest';
import { spUpsampleConvLayers } from './sp';

export interface DerivedWeights {
  /** Derived tensors by weight name; the caller owns them. */
  derived: Map<string, tf.Tensor>;
  /** Pack weights that no forward pass reads any more once `derived` exists (the 3x3 kernels of those layers). */
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
  return { derived, superseded };
}
