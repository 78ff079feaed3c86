// The benchmark's Web Worker: the app's engine (src/engine/engine.ts, PyramidEngine) driven directly, in a module
// worker like the app's own (src/engine/worker.ts wraps the same class in WorkerHost). Everything it measures is
// posted back to bench.ts as plain data; timestamps are absolute (performance.timeOrigin + now()), so the page can
// relate them to its navigation start.
import * as tf from '@tensorflow/tfjs-core';
import { PyramidEngine } from '../src/engine/engine';
import { openCacheStoragePackStore } from '../src/engine/packStore';
import type { BackendName } from '../src/engine/protocol';
import { runOrtPeer } from './ort';
import { sourceImage } from './sourceImage';
import type { BenchConfig, BenchEvent, MeasureName, MeasureResult, ProfileResult } from './types';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const abs = () => performance.timeOrigin + performance.now();
const post = (event: BenchEvent) => scope.postMessage(event);
const bootAt = abs();

const COMPARE_LEVELS = [0, 1, 2, 3, 4, 5, 6];
const GRID_LEVEL = 2; // pool3, the app's default level
const SAMPLES = 8;
const LAG_CANDIDATES = 8;

async function run(config: BenchConfig): Promise<void> {
  const marks: Record<string, number> = { workerBoot: bootAt };
  const mark = (name: string) => {
    marks[name] ??= abs();
  };
  const engine = new PyramidEngine({ batchPixels: config.batchPixels });
  const store = config.noStore ? null : await openCacheStoragePackStore();
  mark('storeOpened');

  // WASM threads as the app runs them (src/engine/backend.ts: default min(cores, 4)); ?wasmThreads=N overrides.
  const info = await engine.init(config.backend, config.wasmThreads ? { threads: config.wasmThreads } : {});
  mark('backendReady');
  const simd = info.backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null;
  const threads =
    info.backend === 'wasm' ? ((await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount?.() ?? null) : null;

  const loaded = await engine.loadPack({
    packUrl: config.packUrl,
    baseUrl: config.pageUrl,
    store,
    onProgress: (stage, done, total) => {
      if (stage === 'manifest' && done === 0) mark('manifestStart');
      if (stage === 'manifest' && done === total) mark('manifestDone');
      if (stage === 'download' && done === 0) mark('downloadStart');
      if (stage === 'verify' && done === 0) mark('verifyStart');
      if (stage === 'decode' && done === 0) mark('decodeStart');
      if (stage === 'decode' && done === total) mark('decodeDone');
      if (stage === 'warmup' && done === 0) mark('warmupStart');
      if (stage === 'warmup' && done === 1) mark('warmupDone');
    },
  });
  const size = loaded.summary.imageSize;
  const image = sourceImage(size);
  await engine.extract('source', image);
  mark('extracted');
  await engine.generate(
    { featuresId: 'source', levels: [GRID_LEVEL], samples: SAMPLES, seed: 1, classIndex: 0 },
    () => {},
  );
  mark('firstGrid');
  const memoryAfterLoad = tf.memory();
  post({
    type: 'cold',
    marks,
    backend: info.backend,
    detail: info.detail,
    fellBackFrom: info.fellBackFrom ?? null,
    fallbackReason: info.reason ?? null,
    fromCache: loaded.fromCache,
    packBytes: loaded.summary.bytes,
    simd,
    threads,
    workerCrossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    memoryAfterLoad: { numBytes: memoryAfterLoad.numBytes, numTensors: memoryAfterLoad.numTensors },
  });
  if (config.phase === 'ort' && config.ort) {
    const report = await runOrtPeer(
      {
        engine,
        image,
        imageSize: size,
        zDim: loaded.summary.spZDim,
        packDigest: loaded.summary.digest,
        levels: COMPARE_LEVELS,
        samples: SAMPLES,
        batchPixels: config.batchPixels,
        pageUrl: config.pageUrl,
        engineCompareGrid: (seed) =>
          engine.generate(
            { featuresId: 'source', levels: COMPARE_LEVELS, samples: SAMPLES, seed, classIndex: 0 },
            () => {},
          ),
      },
      // ORT gets the thread count the engine's WASM backend actually runs with (the same cores).
      { ...config.ort, threads: threads ?? config.ort.threads },
    );
    post({ type: 'ort', report });
    return;
  }
  if (config.phase !== 'steady') return;

  // ---------------------------------------------------------------------------------------------------------------
  // Steady state: each measure once more as warm-up, then repeated runs within a time budget.
  // ---------------------------------------------------------------------------------------------------------------
  let seed = 100;
  const measures: Record<MeasureName, () => Promise<unknown>> = {
    spGrid: () =>
      engine.generate(
        { featuresId: 'source', levels: [GRID_LEVEL], samples: SAMPLES, seed: seed++, classIndex: 0 },
        () => {},
      ),
    grid16: () =>
      engine.generate(
        { featuresId: 'source', levels: [GRID_LEVEL], samples: 16, seed: seed++, classIndex: 0 },
        () => {},
      ),
    compareGrid: () =>
      engine.generate(
        { featuresId: 'source', levels: COMPARE_LEVELS, samples: SAMPLES, seed: seed++, classIndex: 0 },
        () => {},
      ),
    lag: () => engine.lag({ image, candidates: LAG_CANDIDATES, seed: seed++, amplitude: 0.5 }),
    extract: () => engine.extract('timed', image),
  };
  const results: Partial<Record<MeasureName, MeasureResult>> = {};
  for (const name of config.measures) {
    const work = measures[name];
    let warmupMs: number | null = null;
    if (!config.noWarmup.includes(name)) {
      const warmStart = performance.now();
      await work();
      warmupMs = performance.now() - warmStart;
    }
    const runs: number[] = [];
    const budgetStart = performance.now();
    while (runs.length < config.maxRuns) {
      const elapsed = performance.now() - budgetStart;
      // Stop once the budget is spent (after the minimum), or when one more run would clearly overrun it.
      const minRuns = config.minRunsFor[name] ?? config.minRuns;
      if (runs.length >= minRuns && (elapsed >= config.budgetMs || elapsed + median(runs) > config.budgetMs * 1.15))
        break;
      const t0 = performance.now();
      await work();
      runs.push(performance.now() - t0);
    }
    results[name] = { runs, warmupMs };
    post({
      type: 'progress',
      message: `${info.backend} ${name}: ${runs.length} runs, median ${median(runs).toFixed(1)} ms`,
    });
  }

  // Peak memory (and, optionally, where the time goes) from tf.profile over one run of each measure.
  const profiles: Partial<Record<MeasureName, ProfileResult>> = {};
  for (const name of config.profileMeasures) {
    const t0 = performance.now();
    const profile = await tf.profile(() => measures[name]() as Promise<never>);
    const wallMs = performance.now() - t0;
    const byKernel: Record<string, { ms: number; count: number }> = {};
    const byShape: Record<string, { ms: number; count: number }> = {};
    const convs: ProfileResult['convs'] = {};
    let peakTensors = 0;
    for (const kernel of profile.kernels) {
      peakTensors = Math.max(peakTensors, kernel.totalTensorsSnapshot);
      // Ops with a custom gradient (fused conv / matmul) appear twice: as their "<op>__op" scope and as the kernel.
      if (kernel.name.endsWith('__op')) continue;
      const ms = Number(kernel.kernelTimeMs) || 0;
      const entry = (byKernel[kernel.name] ??= { ms: 0, count: 0 });
      entry.ms += ms;
      entry.count += 1;
      const shapes = kernel.inputShapes
        .slice(0, 2)
        .map((shape) => `[${shape.join(',')}]`)
        .join(' x ');
      const layer = (byShape[`${kernel.name} ${shapes}`] ??= { ms: 0, count: 0 });
      layer.ms += ms;
      layer.count += 1;
      if (/conv/i.test(kernel.name)) recordConv(convs, kernel, ms);
    }
    profiles[name] = {
      peakBytes: profile.peakBytes,
      peakTensors,
      newBytes: profile.newBytes,
      newTensors: profile.newTensors,
      kernelCount: profile.kernels.length,
      profiledWallMs: wallMs,
      byKernel,
      byShape,
      convs,
    };
  }

  // Batching: the compare grid (56 images) with other batch sizes than the engine's default (32 images/forward).
  const batching: Record<string, { runs: number[]; peakBytes: number }> = {};
  for (const images of config.batchSweep) {
    const other = new PyramidEngine({ batchPixels: images * size * size });
    await other.init(config.backend);
    await other.loadPack({ packUrl: config.packUrl, baseUrl: config.pageUrl, store });
    await other.extract('source', image);
    const times: number[] = [];
    const compare = () =>
      other.generate(
        { featuresId: 'source', levels: COMPARE_LEVELS, samples: SAMPLES, seed: seed++, classIndex: 0 },
        () => {},
      );
    for (let i = 0; i < config.batchSweepRuns + 1; i++) {
      const t0 = performance.now();
      await compare();
      if (i > 0) times.push(performance.now() - t0);
    }
    // Peak bytes of this batch size; the default engine's weights (still loaded) are counted as well.
    const profile = await tf.profile(() => compare() as Promise<never>);
    other.dispose();
    batching[String(images)] = { runs: times, peakBytes: profile.peakBytes };
  }

  const final = tf.memory();
  post({
    type: 'steady',
    backend: info.backend as BackendName,
    results,
    profiles,
    batching,
    finalMemory: { numBytes: final.numBytes, numTensors: final.numTensors },
  });
}

type ProfiledKernel = Awaited<ReturnType<typeof tf.profile>>['kernels'][number];

/** A conv kernel's time under its input, filter and output shapes (the output fixes stride and padding). */
function recordConv(convs: ProfileResult['convs'], kernel: ProfiledKernel, ms: number): void {
  const [input, filter] = kernel.inputShapes;
  const output = kernel.outputShapes[0];
  const key = `${kernel.name} [${input}] x [${filter}] -> [${output}]`;
  const entry = (convs[key] ??= { kernel: kernel.name, input, filter, output, ms: 0, count: 0 });
  entry.ms += ms;
  entry.count += 1;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

scope.addEventListener('message', (event: MessageEvent<BenchConfig>) => {
  run(event.data).then(
    () => post({ type: 'done' }),
    (error: unknown) =>
      post({
        type: 'error',
        message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error),
      }),
  );
});
post({ type: 'boot', at: bootAt });
