#!/usr/bin/env node
// `npm run bench:webgpu-node`: the engine's WebGPU backend timed in Node through the `webgpu` package (Dawn), on
// whatever adapter Dawn finds: a real GPU when there is one (run it when a GPU is at hand), else nothing, or
// SwiftShader's CPU-emulated Vulkan with --swiftshader (Debian's chromium ships it in /usr/lib/chromium). The
// app's engine (src/engine/engine.ts) is loaded through Vite's SSR loader, the bundled pack is served over HTTP by
// the bench's server (server.mjs), and it times, like the browser bench (bench/bench.worker.ts):
//   cold start: backend start + pack load (download, verify, decode, upload, warm-up) + extract + first 1 x 8 grid;
//   compare grid: 7 levels x 8 samples; 16-sample grid: pool3 x 16. Each after one warm-up run.
// Prints the adapter's name and a table; writes bench/webgpu-node.json (--out=FILE elsewhere).
//
// Options: --swiftshader (Dawn on SwiftShader's Vulkan driver), --runs=N (timed runs per measure, default 5),
//          --budget-s=S (stop a measure after S seconds of runs, default 60), --pack=models/<id> (default cifar10),
//          --no-warmup (time each measure's first run too: on SwiftShader one compare grid takes minutes).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { args, log, repo } from './options.mjs';
import { startServer } from './server.mjs';
import { round, stats } from './stats.mjs';
import { fmtMs } from './tables.mjs';

const SWIFTSHADER_DIR = process.env.SWIFTSHADER_DIR ?? '/usr/lib/chromium';
const RUNS = Number(args.get('runs') ?? 5);
const BUDGET_MS = Number(args.get('budget-s') ?? 60) * 1000;
const PACK = String(args.get('pack') ?? 'models/cifar10');
const OUT = resolve(repo, String(args.get('out') ?? 'bench/webgpu-node.json'));
const COMPARE_LEVELS = [0, 1, 2, 3, 4, 5, 6];
const GRID_LEVEL = 2;

/** The dynamic loader reads LD_LIBRARY_PATH only at process start: --swiftshader reruns this script with it set. */
function rerunOnSwiftShader() {
  const env = {
    ...process.env,
    LD_LIBRARY_PATH: [SWIFTSHADER_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? `${SWIFTSHADER_DIR}/vk_swiftshader_icd.json`,
    WEBGPU_NODE_SWIFTSHADER: '1',
  };
  const child = spawnSync(process.execPath, process.argv.slice(1), { env, stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

async function timeRuns(work) {
  if (!args.has('no-warmup')) await work(); // warm-up: shader compilation for this batch shape
  const runs = [];
  const start = performance.now();
  while (runs.length < RUNS && (runs.length < 2 || performance.now() - start < BUDGET_MS)) {
    const t0 = performance.now();
    await work();
    runs.push(performance.now() - t0);
  }
  return { ...stats(runs), all: runs.map((r) => round(r)) };
}

async function main() {
  if (args.has('swiftshader') && !process.env.WEBGPU_NODE_SWIFTSHADER) rerunOnSwiftShader();
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  globalThis.navigator ??= {};
  Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });

  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const info = adapter?.info ?? {};
  const adapterName = adapter
    ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unnamed adapter'
    : null;
  const result = {
    date: new Date().toISOString(),
    swiftshader: Boolean(process.env.WEBGPU_NODE_SWIFTSHADER),
    adapter: adapter ? { name: adapterName, ...pickInfo(info), isFallbackAdapter: adapter.isFallbackAdapter } : null,
    pack: PACK,
  };
  // Written after every step, so a run stopped early (SwiftShader takes many minutes) keeps what it measured.
  const save = () => writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  log(`WebGPU adapter: ${adapterName ?? 'none'}`);
  if (!adapter) {
    result.error = 'Dawn found no WebGPU adapter';
    save();
    log(
      `no adapter: on a GPU machine check the Vulkan driver (vulkaninfo); without a GPU, --swiftshader runs on SwiftShader (${SWIFTSHADER_DIR}). Wrote ${OUT}`,
    );
    process.exitCode = 1;
    return;
  }

  const { createServer } = await import('vite');
  const vite = await createServer({
    root: repo,
    configFile: false,
    logLevel: 'warn',
    appType: 'custom',
    server: { middlewareMode: true, hmr: false, ws: false },
    optimizeDeps: { noDiscovery: true, include: [] },
  });
  const server = await startServer();
  try {
    const { PyramidEngine } = await vite.ssrLoadModule('/src/engine/engine.ts');
    const { sourceImage } = await vite.ssrLoadModule('/bench/sourceImage.ts');
    const engine = new PyramidEngine();
    const t0 = performance.now();
    const backend = await engine.init('webgpu');
    const tInit = performance.now();
    const { summary } = await engine.loadPack({ packUrl: `${server.url}${PACK}/pack.json` });
    const tLoad = performance.now();
    const image = sourceImage(summary.imageSize);
    await engine.extract('source', image);
    let seed = 1;
    const grid = (levels, samples) =>
      engine.generate({ featuresId: 'source', levels, samples, seed: seed++, classIndex: 0 }, () => {});
    await grid([GRID_LEVEL], 8);
    const tFirst = performance.now();
    result.backend = backend;
    result.coldStart = {
      totalMs: round(tFirst - t0),
      backendInitMs: round(tInit - t0),
      packLoadAndWarmupMs: round(tLoad - tInit),
      firstInferenceMs: round(tFirst - tLoad),
    };
    log(`backend: ${backend.backend} (${backend.detail}); cold start ${fmtMs(result.coldStart.totalMs)}`);
    if (backend.backend !== 'webgpu') throw new Error(`the engine fell back to ${backend.backend}: ${backend.reason}`);
    save();
    result.compareGrid = await timeRuns(() => grid(COMPARE_LEVELS, 8));
    log(`compare grid (7 x 8): ${fmtMs(result.compareGrid.median)} median of ${result.compareGrid.runs}`);
    save();
    result.grid16 = await timeRuns(() => grid([GRID_LEVEL], 16));
    log(`16-sample grid: ${fmtMs(result.grid16.median)} median of ${result.grid16.runs}`);
    engine.dispose();
  } catch (error) {
    result.error = String(error?.message ?? error);
    log(`failed: ${result.error}`);
    process.exitCode = 1;
  } finally {
    await server.close();
    await vite.close();
  }
  save();
  log(`wrote ${OUT}`);
  // Dawn keeps the process alive with its device threads; the figures are written.
  process.exit();
}

function pickInfo(info) {
  const out = {};
  for (const key of ['vendor', 'architecture', 'device', 'description']) if (info[key]) out[key] = info[key];
  return out;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
