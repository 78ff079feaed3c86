// The bench's arithmetic: conv FLOPs from shapes, the SP generator's FLOPs per sample from its arch, the share of
// the roofline, the width proposal, the roofline kernels' JavaScript emulation and the relaxed-SIMD verdict.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  convFlops,
  rooflineShare,
  spFlopsPerSample,
  widthProposal,
  type LevelLike,
  type SpArchLike,
} from '../../scripts/node/bench/flops.mjs';
import {
  ADD,
  FLOPS_PER_TRIP,
  FUSED_PROBE,
  MUL,
  expectedAccumulators,
  maddF32,
  maxUlpDifference,
  startValues,
} from '../../scripts/node/bench/madd.mjs';
import { assembleKernels, pairedSpeedup, verdict } from '../../scripts/node/bench/roofline.mjs';
import { convShareRows } from '../../scripts/node/bench/rooflineReport.mjs';
import { spWeightShapes } from '../../src/engine/sp';
import type { LevelInfo } from '../../src/engine/protocol';

const tinyPack = JSON.parse(readFileSync(new URL('../fixtures/tiny/pack.json', import.meta.url), 'utf8'));
const tinyArch: SpArchLike = tinyPack.models.sp.arch;
const tinyLevels: LevelLike[] = tinyPack.levels;

describe('convFlops', () => {
  it('counts 2 * N * Ho * Wo * Co * Ci * kh * kw for a same-padded 3x3 conv', () => {
    const flops = convFlops({
      kernel: 'FusedConv2D',
      input: [32, 8, 8, 256],
      filter: [3, 3, 256, 256],
      output: [32, 8, 8, 256],
    });
    expect(flops).toBe(2 * 32 * 8 * 8 * 256 * 256 * 9);
  });

  it('takes the output size from the output shape (stride 2, valid padding)', () => {
    const flops = convFlops({ kernel: 'Conv2D', input: [1, 9, 9, 4], filter: [3, 3, 4, 8], output: [1, 4, 4, 8] });
    expect(flops).toBe(2 * 16 * 8 * 4 * 9);
  });

  it('counts one input channel per output for depthwise convs', () => {
    const flops = convFlops({
      kernel: 'DepthwiseConv2dNative',
      input: [2, 5, 5, 6],
      filter: [3, 3, 6, 2],
      output: [2, 5, 5, 12],
    });
    expect(flops).toBe(2 * 2 * 25 * 12 * 9);
  });

  it('refuses shapes that do not fit together and kernels that are not convs', () => {
    expect(() =>
      convFlops({ kernel: 'Conv2D', input: [1, 4, 4, 3], filter: [3, 3, 4, 8], output: [1, 4, 4, 8] }),
    ).toThrow(/do not fit/);
    expect(() => convFlops({ kernel: 'Conv2D', input: [1, 4, 4], filter: [3, 3, 4, 8], output: [1, 4, 4, 8] })).toThrow(
      /input shape/,
    );
    expect(() =>
      convFlops({ kernel: 'MatMul', input: [1, 1, 1, 1], filter: [1, 1, 1, 1], output: [1, 1, 1, 1] }),
    ).toThrow(/not a conv/);
  });
});

describe('rooflineShare', () => {
  it('turns FLOPs and milliseconds into GFLOP/s and a percentage of the roofline', () => {
    const share = rooflineShare(1e9, 10, 200);
    expect(share.gflops).toBeCloseTo(100, 10);
    expect(share.percent).toBeCloseTo(50, 10);
    expect(() => rooflineShare(1e9, 0, 200)).toThrow();
  });

  it('gives each profiled conv layer its FLOPs, GFLOP/s and share, slowest first', () => {
    const rows = convShareRows(
      {
        a: { kernel: 'FusedConv2D', input: [1, 2, 2, 1], filter: [1, 1, 1, 1], output: [1, 2, 2, 1], ms: 1, count: 1 },
        b: {
          kernel: 'FusedConv2D',
          input: [1, 10, 10, 10],
          filter: [1, 1, 10, 10],
          output: [1, 10, 10, 10],
          ms: 0.002,
          count: 2,
        },
      },
      100,
    );
    expect(rows.map((r) => r.flops)).toEqual([8, 2 * 2 * 100 * 10 * 10]);
    expect(rows[1].gflops).toBeCloseTo(20, 10); // 40000 FLOPs in 2 us
    expect(rows[1].percent).toBeCloseTo(20, 10);
  });

  it('lists conv kernels it cannot count without FLOPs instead of failing', () => {
    const [row] = convShareRows(
      {
        t: {
          kernel: 'Conv2DBackpropInput',
          input: [1, 4, 4, 8],
          filter: [3, 3, 8, 8],
          output: [1, 8, 8, 8],
          ms: 1,
          count: 1,
        },
      },
      100,
    );
    expect(row.flops).toBeNull();
    expect(row.percent).toBeNull();
  });
});

describe('spFlopsPerSample', () => {
  // Output pixels of each layer of the PyTorch reference graph: every layer's FLOPs are then
  // 2 * (kernel elements) * (output pixels), with the kernel shapes from the engine's own weight list.
  function referenceFromWeightShapes(arch: SpArchLike, levels: LevelLike[], imageSize: number): number {
    let total = 0;
    for (const { name, shape } of spWeightShapes(arch as never, levels as LevelInfo[])) {
      if (!name.endsWith('.kernel')) continue;
      const weights = shape.reduce((a, b) => a * b, 1);
      let pixels: number;
      const block = /^sp\.block(\d+)\./.exec(name);
      const inject = /^sp\.inject_(\w+)\./.exec(name);
      if (name.includes('_dense.')) pixels = 1;
      else if (inject) pixels = levels.find((l) => l.name === inject[1])!.size! ** 2;
      else if (block) pixels = (arch.baseSize * 2 ** Number(block[1])) ** 2;
      else if (name === 'sp.out_conv.kernel') pixels = imageSize ** 2;
      else throw new Error(`unexpected layer ${name}`);
      total += 2 * weights * pixels;
    }
    return total;
  }

  it('matches a layer-by-layer count over the engine weight shapes (reference graph), for the tiny pack', () => {
    const flops = spFlopsPerSample(tinyArch, tinyLevels, 32);
    expect(flops.reference).toBe(referenceFromWeightShapes(tinyArch, tinyLevels, 32));
  });

  it('matches the layer-by-layer count for the 64 and 128 px shapes as well', () => {
    for (const [size, channels] of [
      [64, [256, 256, 128, 64, 32]],
      [128, [256, 256, 256, 128, 64, 32]],
    ] as const) {
      const arch = { ...tinyArch, channels: [...channels] };
      const levels = tinyLevels.map((l) => (l.size === null ? l : { ...l, size: (l.size * size) / 32 }));
      expect(spFlopsPerSample(arch, levels, size).reference).toBe(referenceFromWeightShapes(arch, levels, size));
    }
  });

  it('counts the sub-pixel phases: per block, 46 fewer multiply-add FLOPs per low-res pixel and channel pair', () => {
    // conv1: 36 * 2 (3x3 at 2x) -> 4 phases * 4 taps * 2 = 32; skip: 4 * 2 (1x1 at 2x) -> 2 (1x1 before up).
    const flops = spFlopsPerSample(tinyArch, tinyLevels, 32);
    const { baseSize, channels } = tinyArch;
    let saved = 0;
    for (let k = 1; k < channels.length; k++)
      saved += 46 * (baseSize * 2 ** (k - 1)) ** 2 * channels[k - 1] * channels[k];
    expect(flops.reference - flops.engine).toBe(saved);
    expect(flops.dense).toBe(2 * 16 * 16 * (8 + 16 + 10));
  });

  it('refuses an arch whose blocks do not reach the image size', () => {
    expect(() => spFlopsPerSample(tinyArch, tinyLevels, 64)).toThrow(/imageSize/);
  });
});

describe('widthProposal', () => {
  const arch = { ...tinyArch, channels: [256, 256, 128, 64] };
  const full = spFlopsPerSample(arch, tinyLevels, 32).engine;

  it('keeps an arch that already fits', () => {
    expect(widthProposal(arch, tinyLevels, 32, full)).toEqual({ channels: [256, 256, 128, 64], flops: full });
  });

  it('halves the high-resolution stages first, until the sample fits', () => {
    const proposal = widthProposal(arch, tinyLevels, 32, full * 0.8)!;
    expect(proposal.flops).toBeLessThanOrEqual(full * 0.8);
    expect(proposal.flops).toBe(spFlopsPerSample({ ...arch, channels: proposal.channels }, tinyLevels, 32).engine);
    expect(proposal.channels[0]).toBe(256);
    expect(proposal.channels[3]).toBeLessThan(64);
  });

  it('says null when no narrowing fits', () => {
    expect(widthProposal(arch, tinyLevels, 32, 1000)).toBeNull();
  });
});

describe('the roofline kernels', () => {
  it('emulates mul + add with two roundings and a fused multiply-add with one', () => {
    expect(maddF32(FUSED_PROBE.x, FUSED_PROBE.y, FUSED_PROBE.z, true)).toBe(FUSED_PROBE.fused);
    expect(maddF32(FUSED_PROBE.x, FUSED_PROBE.y, FUSED_PROBE.z, false)).toBe(FUSED_PROBE.unfused);
    const start = Float32Array.of(0.5, 1.25);
    const once = expectedAccumulators(start, 1, false);
    const step = (v: number) => Math.fround(Math.fround(v * MUL) + ADD);
    expect(Array.from(once)).toEqual([step(step(0.5)), step(step(1.25))]);
  });

  it('measures differences in float32 ulps', () => {
    const one = Float32Array.of(1);
    const next = Float32Array.of(1 + 2 ** -23);
    expect(maxUlpDifference(one, one)).toBe(0);
    expect(maxUlpDifference(next, one)).toBe(1);
  });

  it('assembles both .wat files, and the mul + add kernel computes what the emulation says', async () => {
    const kernels = await assembleKernels();
    expect(Object.keys(kernels).sort()).toEqual(['fma', 'mulAdd']);
    expect(FLOPS_PER_TRIP).toBe(192);
    // Node 20 runs SIMD128 (not relaxed SIMD without a flag): run the plain kernel here.
    const { instance } = await WebAssembly.instantiate(Uint8Array.from(kernels.mulAdd), {});
    const exports = instance.exports as {
      memory: WebAssembly.Memory;
      kernel: (t: number, m: number, a: number) => void;
    };
    const start = startValues();
    const memory = new Float32Array(exports.memory.buffer, 0, start.length);
    memory.set(start);
    exports.kernel(300, MUL, ADD);
    expect(maxUlpDifference(memory, expectedAccumulators(start, 300, false))).toBe(0);
    expect(Array.from(memory)).not.toEqual(Array.from(start));
  });
});

describe('the relaxed-SIMD verdict', () => {
  it('tries an own FMA conv kernel only if FMA is 1.3x or more on every thread count', () => {
    expect(verdict({ 1: 1.05, 2: 1.1 })).toEqual({
      pursue: false,
      text: 'not pursued: FMA gives only 1.05x here (1.05x on 1 thread, 1.10x on 2 threads; threshold 1.3x)',
    });
    expect(verdict({ 1: 1.3, 2: 1.4 }).pursue).toBe(true);
    expect(verdict({ 1: 1.86, 2: 0.7 }).pursue).toBe(false);
    expect(verdict({ 1: null, 2: null }).pursue).toBe(false);
  });

  it('takes the speed-up from adjacent rounds, so one lucky round does not decide it', () => {
    // Round 0 of mul + add ran while the machine was busy: the ratio of the bests would say 2x, the pairs 1.1x.
    expect(pairedSpeedup([22, 44, 44, 44], [10, 40, 40, 40])).toBeCloseTo(1.1, 10);
    expect(pairedSpeedup([], [1])).toBeNull();
  });
});
