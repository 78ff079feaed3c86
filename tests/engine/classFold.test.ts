// The SP forward with one class's norms folded into the up-blocks' conv1 (derivedWeights.ts, foldClassNorms)
// against the forward that applies them (sp.ts), on random weights of the tiny pack's architecture, cpu backend.
// The engine takes the folded path for every batch of one class; the parity suites check both paths against PyTorch.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateBackend } from '../../src/engine/backend';
import { deriveWeights, foldClassNorms } from '../../src/engine/derivedWeights';
import { lagWeightShapes, parseLagArch } from '../../src/engine/lag';
import { phaseKernelNames, type Weights } from '../../src/engine/ops';
import type { LevelInfo } from '../../src/engine/protocol';
import { spClassNormFolds, spGenerate, spWeightShapes, type SpArch } from '../../src/engine/sp';

const pack = JSON.parse(readFileSync(new URL('../fixtures/tiny/pack.json', import.meta.url), 'utf8'));
const arch: SpArch = pack.models.sp.arch;
const levels: LevelInfo[] = pack.levels;
const size: number = pack.imageSize;
const lagArch = parseLagArch(pack.models.lag.arch, size);
const BATCH = 3;

const weights = new Map<string, tf.Tensor>();
const w: Weights = (name) => {
  const tensor = weights.get(name);
  if (!tensor) throw new Error(`no weight ${name}`);
  return tensor;
};

/** One forward of BATCH rows, all levels on, every row of class `classIndex`; the weights and path as given. */
function forward(lookup: Weights, classIndex: number, classNormsFolded: boolean): tf.Tensor4D {
  return tf.tidy(() =>
    spGenerate(lookup, arch, levels, {
      z: tf.randomNormal([BATCH, arch.zDim], 0, 1, 'float32', 3) as tf.Tensor2D,
      classes: tf.tensor1d(Array(BATCH).fill(classIndex), 'int32'),
      features: levels.map((level, l) =>
        level.size === null
          ? tf.randomNormal([1, level.channels], 0, 1, 'float32', 10 + l)
          : tf.randomNormal([1, level.size, level.size, level.channels], 0, 1, 'float32', 10 + l),
      ),
      on: Array.from({ length: BATCH }, () => levels.map(() => 1)),
      mask: tf.ones([1, size, size, 1]) as tf.Tensor4D,
      classNormsFolded,
    }),
  );
}

describe('class-norm folding (cpu)', () => {
  beforeAll(async () => {
    await activateBackend('cpu');
    [...spWeightShapes(arch, levels), ...lagWeightShapes(lagArch)].forEach(({ name, shape }, i) => {
      // Norm scales around 0.5 (some negative), other weights small enough that activations stay of order 1, as in
      // a trained generator (larger ones blow activations up to where float32 round-off alone exceeds 1e-5).
      const isNormScale = name.endsWith('.scale');
      weights.set(name, tf.randomNormal(shape, isNormScale ? 0.5 : 0, isNormScale ? 1 : 0.1, 'float32', 100 + i));
    });
    // The weights the engine derives on upload (phase kernels, the doubled output conv), as it does.
    const { derived } = deriveWeights({ vgg: pack.models.vgg.arch, sp: arch, lag: lagArch }, w);
    for (const [name, tensor] of derived) weights.set(name, tensor);
  });
  afterAll(() => tf.dispose([...weights.values()]));

  it('folds the norm after every up-block conv1: four phase kernels and a bias per block, nothing else kept', () => {
    const before = tf.memory().numTensors;
    const folded = foldClassNorms(arch, w, 2);
    const expected = spClassNormFolds(arch).flatMap(({ conv }) => [...phaseKernelNames(conv), `${conv}.bias`]);
    expect([...folded.keys()].sort()).toEqual(expected.sort());
    for (const [name, tensor] of folded) expect(tensor.shape).toEqual(w(name).shape);
    expect(tf.memory().numTensors).toBe(before + expected.length);
    tf.dispose([...folded.values()]);
  });

  for (const classIndex of [0, 7]) {
    it(`gives the same images as the norms applied, class ${classIndex}, within float32 round-off`, async () => {
      const folded = foldClassNorms(arch, w, classIndex);
      const lookup: Weights = (name) => folded.get(name) ?? w(name);
      const [a, b] = [forward(lookup, classIndex, true), forward(w, classIndex, false)];
      const [va, vb] = await Promise.all([a.data(), b.data()]);
      let diff = 0;
      for (let i = 0; i < va.length; i++) diff = Math.max(diff, Math.abs(va[i] - vb[i]));
      expect(diff).toBeLessThan(1e-5);
      // The fold matters: another class's folded weights give other images.
      const other = foldClassNorms(arch, w, classIndex + 1);
      const wrong = forward((name) => other.get(name) ?? w(name), classIndex, true);
      const vw = await wrong.data();
      let apart = 0;
      for (let i = 0; i < vw.length; i++) apart = Math.max(apart, Math.abs(vw[i] - vb[i]));
      expect(apart).toBeGreaterThan(1e-2);
      tf.dispose([a, b, wrong, ...folded.values(), ...other.values()]);
    });
  }
});
