// The forward passes run right after a pack load, so that kernel set-up (XNNPACK operators on wasm, shader
// compilation on GPUs) happens then rather than on the user's first request.
import type { BackendInfo } from './backend';
import type { EngineOptions, PyramidEngine } from './engine';
import type { LoadedPack } from './pack';

const DEFAULT_SHAPES: NonNullable<EngineOptions['warmUp']> = { samples: 6, compareSamples: 6, lagCandidates: 8 };

/**
 * On GPU backends, runs the batch shapes of the app's default requests through the real generate / LAG paths (a
 * shader is compiled per op *and shape*); on wasm and cpu, whose kernels do not depend on the batch size, one image
 * of each network is enough.
 */
export async function warmUp(
  engine: PyramidEngine,
  pack: LoadedPack,
  backend: BackendInfo | null,
  shapes: EngineOptions['warmUp'] = DEFAULT_SHAPES,
): Promise<void> {
  const size = pack.manifest.imageSize;
  const hardwareGpu =
    (backend?.backend === 'webgpu' || backend?.backend === 'webgl') && !/\(software\)/.test(backend.detail);
  if (shapes.always !== true && !hardwareGpu) {
    // Every layer once, at batch 1 (all levels on, a mask).
    const levels = await engine.computeFeatures(new Float32Array(size * size * 3), 1);
    await engine.runSp({
      z: new Float32Array(pack.arch.sp.zDim),
      classes: [0],
      on: [pack.manifest.levels.map(() => 1)],
      mask: new Float32Array(size * size).fill(1),
      features: levels,
    });
    const { lrSize, noiseChannels } = pack.arch.lag;
    await engine.runLag({
      lr: new Float32Array(lrSize * lrSize * 3),
      noise: new Float32Array(lrSize * lrSize * noiseChannels),
      amplitude: 1,
      batch: 1,
    });
    return;
  }
  const id = '\u0000warm-up';
  const image = { width: size, height: size, data: new Uint8ClampedArray(size * size * 4).fill(128) };
  try {
    await engine.extract(id, image);
    const all = pack.manifest.levels.map((_, l) => l);
    await engine.generate({ featuresId: id, seed: 0, classIndex: 0, levels: [0], samples: shapes.samples }, () => {});
    await engine.generate(
      { featuresId: id, seed: 0, classIndex: 0, levels: all, samples: shapes.compareSamples },
      () => {},
    );
    await engine.lag({ image, candidates: shapes.lagCandidates, seed: 0, amplitude: 1 });
  } finally {
    engine.dropFeatures(id);
  }
}
