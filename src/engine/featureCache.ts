// The pyramids of extracted images, kept per featuresId: on the backend (batch 1, ready for every later generate)
// and on the host (to rebuild the backend copies after a backend change). Least recently used goes first.
import * as tf from '@tensorflow/tfjs-core';
import { EngineError } from './errors';
import type { HostTensor } from './tensorIo';

interface FeatureSet {
  levels: HostTensor[];
  /** The levels on the current backend; null after a backend change until next used. */
  tensors: tf.Tensor[] | null;
  probabilities: number[];
}

export class FeatureCache {
  private readonly sets = new Map<string, FeatureSet>();

  constructor(private readonly limit: number) {}

  /** Keeps a pyramid (replacing one under the same id) and drops the least recently used beyond the limit. */
  put(featuresId: string, levels: HostTensor[], tensors: tf.Tensor[], probabilities: number[]): void {
    this.drop(featuresId);
    this.sets.set(featuresId, { levels, tensors, probabilities });
    while (this.sets.size > this.limit) this.drop(this.sets.keys().next().value!);
  }

  drop(featuresId: string): void {
    this.sets.get(featuresId)?.tensors?.forEach((t) => t.dispose());
    this.sets.delete(featuresId);
  }

  /** The backend tensors of a kept pyramid (re-uploaded from the host copy if the backend changed). */
  tensors(featuresId: string): tf.Tensor[] {
    const set = this.sets.get(featuresId);
    if (!set) throw new EngineError('bad-input', `no features under id "${featuresId}"; extract the image first`);
    // Most recently used goes last (the Map keeps insertion order).
    this.sets.delete(featuresId);
    this.sets.set(featuresId, set);
    set.tensors ??= set.levels.map((level) => tf.tensor(level.values, level.shape));
    return set.tensors;
  }

  /** Frees the backend copies (before a backend switch); the host copies stay. */
  releaseBackendTensors(): void {
    for (const set of this.sets.values()) {
      set.tensors?.forEach((t) => t.dispose());
      set.tensors = null;
    }
  }

  /** Forgets every pyramid (a new pack's VGG makes them meaningless). */
  clear(): void {
    this.releaseBackendTensors();
    this.sets.clear();
  }
}
