// Checks of the exact rewrites in ops.ts (FLOP-saving convs, the upsample-and-add) against the direct compositions
// they replace, on random tensors, run by upsampleConv.test.ts (cpu, wasm) and upsampleConv.webgpu.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { addUpsampled, conv, derivePhaseKernels, up, upsampleConv, type Activation } from '../../../src/engine/ops';

/** Largest |a - b| relative to the largest |b| (float32 round-off of sums over 9 * Cin products is ~1e-6). */
async function relativeMaxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [va, vb] = await Promise.all([a.data(), b.data()]);
  expect(va.length).toBe(vb.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < va.length; i++) {
    diff = Math.max(diff, Math.abs(va[i] - vb[i]));
    scale = Math.max(scale, Math.abs(vb[i]));
  }
  return diff / scale;
}

/** A layer's kernel and bias plus its derived phase kernels, as a weight lookup. */
function randomLayer(
  inChannels: number,
  outChannels: number,
): { weights: Map<string, tf.Tensor>; w: (n: string) => tf.Tensor } {
  const kernel = tf.randomNormal([3, 3, inChannels, outChannels], 0, 0.2, 'float32', 7) as tf.Tensor4D;
  const weights = new Map<string, tf.Tensor>([
    ['layer.kernel', kernel],
    ['layer.bias', tf.randomNormal([outChannels], 0, 0.5, 'float32', 8)],
  ]);
  for (const [name, tensor] of derivePhaseKernels('layer', kernel)) weights.set(name, tensor);
  return { weights, w: (name) => weights.get(name)! };
}

export function defineUpsampleConvSuite(): void {
  const cases: { shape: [number, number, number, number]; outChannels: number; activation: Activation }[] = [
    { shape: [2, 4, 4, 8], outChannels: 5, activation: 'linear' },
    { shape: [3, 3, 5, 6], outChannels: 4, activation: 'relu' }, // non-square, odd sizes
    { shape: [1, 1, 1, 3], outChannels: 2, activation: 'leakyrelu' }, // every tap of each phase is on the border
    { shape: [2, 8, 8, 16], outChannels: 16, activation: 'leakyrelu' },
  ];
  for (const { shape, outChannels, activation } of cases) {
    it(`upsampleConv equals conv3x3(up(x, 2)) for [${shape}] -> ${outChannels}, ${activation}`, async () => {
      const { weights, w } = randomLayer(shape[3], outChannels);
      const x = tf.randomNormal(shape, 0, 1, 'float32', 9) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const phased = tf.tidy(() => upsampleConv(x, w, 'layer', activation));
      const direct = tf.tidy(() => conv(up(x, 2), w, 'layer', activation));
      expect(phased.shape).toEqual([shape[0], 2 * shape[1], 2 * shape[2], outChannels]);
      expect(await relativeMaxDiff(phased, direct)).toBeLessThan(1e-5);
      tf.dispose([phased, direct]);
      expect(tf.memory().numTensors).toBe(before); // nothing but the outputs was kept
      tf.dispose([x, ...weights.values()]);
    });
  }

  // Factor 1, the skip's 2, an injection's 4 on a non-square image, and the fallback for a small tensor of batch 1.
  const additions: { shape: [number, number, number, number]; small: [number, number, number, number] }[] = [
    { shape: [2, 4, 4, 3], small: [2, 4, 4, 3] },
    { shape: [3, 8, 8, 5], small: [3, 4, 4, 5] },
    { shape: [2, 8, 16, 4], small: [2, 2, 4, 4] },
    { shape: [2, 4, 4, 3], small: [1, 2, 2, 3] },
  ];
  for (const { shape, small } of additions) {
    it(`addUpsampled equals x + up(small) bit for bit: [${shape}] + [${small}]`, async () => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 11) as tf.Tensor4D;
      const s = tf.randomNormal(small, 0, 1, 'float32', 12) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const fused = tf.tidy(() => addUpsampled(x, s));
      const direct = tf.tidy(() => tf.add(x, up(s, shape[1] / small[1])));
      expect(fused.shape).toEqual(shape);
      expect(Array.from(await fused.data())).toEqual(Array.from(await direct.data()));
      tf.dispose([fused, direct]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, s]);
    });
  }

  it('derivePhaseKernels makes exactly four [2, 2, in, out] kernels and keeps no intermediate tensor', () => {
    const kernel = tf.randomNormal([3, 3, 4, 5]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const derived = derivePhaseKernels('layer', kernel);
    expect([...derived.keys()]).toEqual([
      'layer.kernel.phase00',
      'layer.kernel.phase01',
      'layer.kernel.phase10',
      'layer.kernel.phase11',
    ]);
    for (const phase of derived.values()) expect(phase.shape).toEqual([2, 2, 4, 5]);
    expect(tf.memory().numTensors).toBe(before + 4);
    tf.dispose([kernel, ...derived.values()]);
  });

  it('the phase kernels sum the 3x3 taps that land on the same low-resolution pixel', async () => {
    // Tap (r, s) of the 3x3 kernel holds 10^(3r+s)-ish distinct values, so any wrong grouping changes a sum.
    const kernel = tf.tensor4d(
      Array.from({ length: 9 }, (_, t) => 2 ** t),
      [3, 3, 1, 1],
    );
    const derived = derivePhaseKernels('layer', kernel);
    const taps = async (a: number, b: number) => Array.from(await derived.get(`layer.kernel.phase${a}${b}`)!.data());
    const k = (r: number, s: number) => 2 ** (3 * r + s);
    expect(await taps(0, 0)).toEqual([
      k(0, 0),
      k(0, 1) + k(0, 2),
      k(1, 0) + k(2, 0),
      k(1, 1) + k(1, 2) + k(2, 1) + k(2, 2),
    ]);
    expect(await taps(1, 1)).toEqual([
      k(0, 0) + k(0, 1) + k(1, 0) + k(1, 1),
      k(0, 2) + k(1, 2),
      k(2, 0) + k(2, 1),
      k(2, 2),
    ]);
    tf.dispose([kernel, ...derived.values()]);
  });
}
