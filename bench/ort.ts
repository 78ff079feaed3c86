// The onnxruntime-web peer of the bench (phase=ort): the SP generator exported from the PyTorch reference
// (scripts/export_onnx.py: the reference graph and the graph the engine runs) on the same pack weights, run by
// ORT-web in this worker on exactly the inputs the engine's compare grid uses (the same features, noise, classes,
// level gates and batches), its output checked against the engine's, and timed in runs alternated with the
// engine's own compare grid.
//
// ORT is loaded at run time from /ort/ (node_modules/onnxruntime-web/dist, served by scripts/node/bench/server.mjs),
// not bundled: its WASM threads start workers from the URL of its own glue script, which a bundle would replace
// with the bench worker's.
import type * as Ort from 'onnxruntime-web';
import { DEFAULT_BATCH_PIXELS, type PyramidEngine } from '../src/engine/engine';
import { rgbaToSigned } from '../src/engine/image';
import { standardNormalBatch } from '../src/engine/noise';
import type { RgbaImage } from '../src/engine/protocol';
import type { OrtConfig, OrtGraphResult, OrtReport } from './types';

type OrtModule = typeof Ort;

interface OnnxManifest {
  packDigest: string;
  opset: number;
  inputs: string[];
  output: string;
  graphs: Record<string, { file: string; bytes: number }>;
}

export interface CompareGridSetup {
  engine: PyramidEngine;
  image: RgbaImage;
  imageSize: number;
  /** The pack's SP noise size (PackSummary.spZDim). */
  zDim: number;
  packDigest: string;
  levels: number[];
  samples: number;
  batchPixels?: number;
  pageUrl: string;
  /** The engine's own compare grid with a given seed (what the steady phase times). */
  engineCompareGrid: (seed: number) => Promise<unknown>;
}

/** One batch of the compare grid, as the engine's generate() builds it: (level, sample) jobs in row order. */
interface Batch {
  levels: number[];
  samples: number[];
}

function compareBatches(levels: number[], samples: number, batchSize: number): Batch[] {
  const jobs = levels.flatMap((level) => Array.from({ length: samples }, (_, sample) => ({ level, sample })));
  const batches: Batch[] = [];
  for (let start = 0; start < jobs.length; start += batchSize) {
    const part = jobs.slice(start, start + batchSize);
    batches.push({ levels: part.map((j) => j.level), samples: part.map((j) => j.sample) });
  }
  return batches;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`output sizes differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

export async function runOrtPeer(setup: CompareGridSetup, config: OrtConfig): Promise<OrtReport> {
  const base = new URL('/', setup.pageUrl);
  const ort = (await import(/* @vite-ignore */ new URL('ort/ort.min.mjs', base).href)) as OrtModule;
  ort.env.wasm.numThreads = config.threads;
  ort.env.wasm.wasmPaths = new URL('ort/', base).href;
  const manifest = (await (await fetch(new URL('onnx/onnx.json', base))).json()) as OnnxManifest;
  if (manifest.packDigest !== setup.packDigest) {
    throw new Error(
      `bench/tmp/onnx was exported from pack ${manifest.packDigest.slice(0, 12)}, the page loaded ${setup.packDigest.slice(0, 12)}`,
    );
  }
  const { engine, imageSize: size } = setup;
  const levelCount = manifest.inputs.length - 4;
  const features = await engine.computeFeatures(rgbaToSigned(setup.image, size), 1);
  const batchSize = Math.max(1, Math.floor((setup.batchPixels ?? DEFAULT_BATCH_PIXELS) / (size * size)));
  const batches = compareBatches(setup.levels, setup.samples, batchSize);
  const zDim = setup.zDim;

  // Host arrays of one batch, exactly the engine's (generateBatch / spBatch): class 0, one level on per row.
  const hostInputs = (batch: Batch, seed: number) => ({
    z: standardNormalBatch(seed, 'sp', batch.samples, zDim),
    on: batch.levels.map((level) => Array.from({ length: levelCount }, (_, l) => (l === level ? 1 : 0))),
    classes: batch.levels.map(() => 0),
  });
  const mask = new ort.Tensor('float32', new Float32Array(size * size).fill(1), [1, size, size, 1]);
  const featureTensors = features.map((f) => new ort.Tensor('float32', f.values, f.shape));
  const feeds = (batch: Batch, seed: number): Record<string, Ort.Tensor> => {
    const host = hostInputs(batch, seed);
    const n = batch.levels.length;
    const named: Record<string, Ort.Tensor> = {
      z: new ort.Tensor('float32', host.z, [n, zDim]),
      classes: new ort.Tensor('int64', BigInt64Array.from(host.classes, BigInt), [n]),
      on: new ort.Tensor('float32', Float32Array.from(host.on.flat()), [n, levelCount]),
      mask,
    };
    manifest.inputs.slice(4).forEach((name, l) => (named[name] = featureTensors[l]));
    return named;
  };

  const graphs: Record<string, OrtGraphResult> = {};
  const sessions: Record<string, Ort.InferenceSession> = {};
  for (const name of config.graphs) {
    const entry = manifest.graphs[name];
    if (!entry) throw new Error(`onnx.json has no graph "${name}"`);
    const t0 = performance.now();
    try {
      sessions[name] = await ort.InferenceSession.create(new URL(`onnx/${entry.file}`, base).href, {
        executionProviders: [config.executionProvider],
        graphOptimizationLevel: 'all',
        // By default idle ORT threads park instead of spin-waiting, so that they do not compete for the cores with
        // the engine's runs alternated with ORT's (--ort-spin keeps ORT's own default, spinning).
        extra: { session: { intra_op: { allow_spinning: config.allowSpinning ? '1' : '0' } } },
      });
      graphs[name] = { file: entry.file, bytes: entry.bytes, sessionMs: performance.now() - t0, runs: [] };
    } catch (error) {
      graphs[name] = {
        file: entry.file,
        bytes: entry.bytes,
        error: String((error as Error)?.message ?? error),
        runs: [],
      };
    }
  }

  /** The whole compare grid through one session: every batch's inputs built, run and read back. */
  const ortCompareGrid = async (session: Ort.InferenceSession, seed: number): Promise<Float32Array[]> => {
    const outputs: Float32Array[] = [];
    for (const batch of batches) {
      const result = await session.run(feeds(batch, seed));
      const image = result[manifest.output];
      outputs.push((await image.getData()) as Float32Array);
      image.dispose();
    }
    return outputs;
  };

  // The check: each graph against the engine's forward on the same host inputs (runSp: the spGenerate path of
  // generate(), float32 before the RGBA conversion), batch by batch. Its first run is also the graph's warm-up.
  const checkSeed = 7;
  const expected: Float32Array[] = [];
  for (const batch of batches) {
    const host = hostInputs(batch, checkSeed);
    expected.push(await engine.runSp({ ...host, mask: new Float32Array(size * size).fill(1), features }));
  }
  for (const [name, session] of Object.entries(sessions)) {
    const t0 = performance.now();
    const got = await ortCompareGrid(session, checkSeed);
    graphs[name].warmupMs = performance.now() - t0;
    graphs[name].maxAbsDiff = Math.max(...got.map((out, i) => maxAbsDiff(out, expected[i])));
  }

  // Timed rounds, alternated: the engine's compare grid, then each graph's, with a fresh seed per round.
  // No separate warm-up: the check above ran the engine and every graph at the timed batch shapes (on GPUs that
  // compiled the shaders), and one compare grid on a software GPU takes tens of seconds.
  const engineRuns: number[] = [];
  const started = performance.now();
  let seed = 1001;
  while (engineRuns.length < config.maxRuns) {
    if (engineRuns.length >= config.minRuns && performance.now() - started >= config.budgetMs) break;
    let t0 = performance.now();
    await setup.engineCompareGrid(seed);
    engineRuns.push(performance.now() - t0);
    for (const [name, session] of Object.entries(sessions)) {
      t0 = performance.now();
      await ortCompareGrid(session, seed);
      graphs[name].runs.push(performance.now() - t0);
    }
    seed++;
  }
  for (const session of Object.values(sessions)) await session.release();
  return {
    ortVersion: ort.env.versions.web ?? 'unknown',
    executionProvider: config.executionProvider,
    threads: config.threads,
    allowSpinning: config.allowSpinning,
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    opset: manifest.opset,
    batches: batches.map((b) => b.levels.length),
    engineRuns,
    graphs,
  };
}
