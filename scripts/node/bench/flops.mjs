// FLOP counts for the bench (a multiply-add counts as 2 FLOPs): of one profiled conv kernel from its shapes, of one
// SP generator sample from a pack's arch, and a kernel's share of the WASM roofline. Pure functions, unit-tested in
// tests/unit/benchFlops.test.ts; used by roofline.mjs, sizes.mjs and report.mjs.

/** TF.js kernels that are convolutions, and whether they are depthwise (one input channel per output channel). */
const CONV_KERNELS = {
  Conv2D: false,
  FusedConv2D: false,
  DepthwiseConv2dNative: true,
  FusedDepthwiseConv2D: true,
};

export function isConvKernel(name) {
  return Object.hasOwn(CONV_KERNELS, name);
}

/**
 * FLOPs of one conv kernel call from its NHWC input [N, H, W, Ci], HWIO filter [kh, kw, Ci, Co] (depthwise:
 * [kh, kw, Ci, multiplier]) and output [N, Ho, Wo, Co] shapes: 2 * N * Ho * Wo * Co * Ci * kh * kw, with one input
 * channel per output for depthwise convs. Bias and activation are not counted (they are O(output), not O(filter)).
 */
export function convFlops({ kernel, input, filter, output }) {
  if (!isConvKernel(kernel)) throw new Error(`convFlops: ${kernel} is not a conv kernel`);
  for (const [what, shape] of [
    ['input', input],
    ['filter', filter],
    ['output', output],
  ]) {
    if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0))
      throw new Error(`convFlops: ${kernel} ${what} shape ${JSON.stringify(shape)} is not 4 positive integers`);
  }
  const [n, , , cin] = input;
  const [kh, kw, fin, fout] = filter;
  const [on, ho, wo, cout] = output;
  const depthwise = CONV_KERNELS[kernel];
  if (fin !== cin || on !== n || cout !== (depthwise ? cin * fout : fout))
    throw new Error(
      `convFlops: ${kernel} shapes do not fit together: input ${input}, filter ${filter}, output ${output}`,
    );
  return 2 * n * ho * wo * cout * (depthwise ? 1 : cin) * kh * kw;
}

/** Achieved GFLOP/s of `flops` done in `ms`, and its share of a roofline (GFLOP/s), in percent. */
export function rooflineShare(flops, ms, rooflineGflops) {
  if (!(ms > 0) || !(rooflineGflops > 0)) throw new Error(`rooflineShare: needs ms > 0 and a roofline > 0`);
  const gflops = flops / (ms * 1e6);
  return { gflops, percent: (100 * gflops) / rooflineGflops };
}

/**
 * FLOPs of one SP generator sample with every level on, from pack.json's `sp` arch, `levels` table and imageSize:
 * the dense layers, the injection 1x1 convs, each block's conv1 / conv2 / skip and the output conv.
 *  - `engine`: as src/engine/sp.ts runs it: conv3x3(up(x, 2)) as four 2x2 phase convs on the low-resolution x
 *    (16 multiply-adds per low-resolution pixel and channel pair instead of 36), the skip's 1x1 conv before the
 *    upsampling.
 *  - `reference`: as scripts/pipeline/models/sp.py writes it (3x3 conv and 1x1 skip at the upsampled size).
 * Element-wise work (batch norm, ReLU, adds, tanh) is O(activations) and not counted. `dense` and `injections`
 * are the parts of both counts that the dense layers and the injection 1x1 convs take (the engine runs the
 * injections once per batch when the rows share one image's features).
 */
export function spFlopsPerSample(arch, levels, imageSize) {
  const { baseSize, channels, zDim, injections } = arch;
  if (baseSize * 2 ** (channels.length - 1) !== imageSize)
    throw new Error(`spFlopsPerSample: baseSize ${baseSize} * 2^${channels.length - 1} != imageSize ${imageSize}`);
  const level = (name) => {
    const found = levels.find((l) => l.name === name);
    if (!found) throw new Error(`spFlopsPerSample: no level ${name}`);
    return found;
  };
  const denseOut = baseSize * baseSize * channels[0];
  const dense = 2 * denseOut * (zDim + level('fc7').channels + level('fc8').channels);
  let injected = 0;
  for (const { level: name, stage } of injections) {
    const l = level(name);
    injected += 2 * l.size * l.size * l.channels * channels[stage];
  }
  let engine = dense + injected;
  let reference = dense + injected;
  for (let k = 1; k < channels.length; k++) {
    const [cin, cout] = [channels[k - 1], channels[k]];
    const low = (baseSize * 2 ** (k - 1)) ** 2; // pixels before the block's upsampling
    const high = 4 * low;
    const conv2 = 2 * high * cout * cout * 9;
    engine += 4 * (2 * low * cin * cout * 4) + conv2 + 2 * low * cin * cout;
    reference += 2 * high * cin * cout * 9 + conv2 + 2 * high * cin * cout;
  }
  const outConv = 2 * imageSize * imageSize * channels.at(-1) * 3 * 9;
  return { engine: engine + outConv, reference: reference + outConv, dense, injections: injected };
}

/**
 * A narrower SP arch whose samples fit `maxFlops` (engine graph), found by halving channels at high resolution
 * first: the last stage, then the one before, and so on (never below 8 channels, never stage 0, whose width the
 * dense layers and the low-resolution injections set), round after round. Returns {channels, flops} or null when
 * even 8 channels everywhere but stage 0 do not fit.
 */
export function widthProposal(arch, levels, imageSize, maxFlops) {
  const channels = [...arch.channels];
  const flopsOf = () => spFlopsPerSample({ ...arch, channels }, levels, imageSize).engine;
  if (flopsOf() <= maxFlops) return { channels, flops: flopsOf() };
  for (;;) {
    let changed = false;
    for (let k = channels.length - 1; k >= 1; k--) {
      if (channels[k] <= 8) continue;
      channels[k] = Math.max(8, channels[k] / 2);
      changed = true;
      if (flopsOf() <= maxFlops) return { channels, flops: flopsOf() };
    }
    if (!changed) return null;
  }
}
