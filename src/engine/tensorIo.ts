// Moving tensors between the backend and the host, and the small conversions the engine's forward passes share.
import * as tf from '@tensorflow/tfjs-core';

/** Raw tensors as plain arrays (the parity tests and the engine's own caches use these). */
export interface HostTensor {
  shape: number[];
  values: Float32Array;
}

/** Class indices as int32 [B], or rows of class weights as float32 [B, numClasses]. */
export function classInput(classes: number[] | number[][]): tf.Tensor1D | tf.Tensor2D {
  return Array.isArray(classes[0]) ? tf.tensor2d(classes as number[][]) : tf.tensor1d(classes as number[], 'int32');
}

/**
 * Reads several tensors back in one transfer (one GPU sync instead of one per tensor): flattened, concatenated on
 * the backend, split on the host.
 */
export async function readTogether(tensors: tf.Tensor[]): Promise<HostTensor[]> {
  const joined = tf.tidy(() =>
    tf.concat(
      tensors.map((t) => tf.reshape(t, [-1])),
      0,
    ),
  );
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

/** Reads one tensor back and disposes it, whether or not the read succeeds. */
export async function readAndDispose(tensor: tf.Tensor): Promise<Float32Array> {
  try {
    return (await tensor.data()) as Float32Array;
  } finally {
    tensor.dispose();
  }
}

/**
 * Lets queued messages (a `cancel`, a newer request) be delivered between batches: on the cpu and wasm backends
 * `tensor.data()` resolves without ever returning to the event loop.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
