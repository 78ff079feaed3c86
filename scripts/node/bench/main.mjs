#!/usr/bin/env node
// `npm run bench`: times the app's engine (src/engine, in a module worker, built by Vite from bench/) in headless
// Chromium on every backend, and the same computations in PyTorch on the CPU with the same weights
// (scripts/bench_torch.py, torch.mjs), then prints one table and writes bench/results.json and bench/RESULTS.md.
//
// Per backend: a cold start in a fresh browser context (empty HTTP cache and Cache Storage), warm starts (reloads
// in the same context), then steady-state runs of each measure within a time budget, peak/final tf.memory(), and a
// per-kernel profile. The software backends (CPU, WebGL and WebGPU on SwiftShader) get fewer runs; the run counts
// are recorded. Never part of `npm test`; it does not fail on slow numbers, only on a broken page.
//
// Then the WASM roofline (roofline.mjs: the best multiply-add throughput of WASM SIMD128 here, with and without
// relaxed-SIMD FMA, and the verdict on an own FMA conv kernel) and the cost against image size (sizes.mjs: the
// 32, 64 and 128 px configurations with random weights); RESULTS.md gets each conv's share of the roofline.
//
// Options: --quick (small budgets), --backends=wasm,cpu,webgl,webgpu, --no-build, --no-torch,
//          --torch-json=FILE (reuse PyTorch figures), --out=DIR (default bench/), --keep-open (serve, print URL),
//          --no-ort (leave out the onnxruntime-web peer, ort.mjs), --ort-webgpu (its WebGPU EP too),
//          --ort-spin (ORT's idle threads spin-wait, its default),
//          --no-roofline, --no-sizes (skip those experiments).
//
// The pieces: options.mjs (command line, measures, plan per backend), server.mjs (static server), browser.mjs
// (driving the page), torch.mjs (the PyTorch side), experiments.mjs (roofline.mjs, sizes.mjs, flops.mjs),
// stats.mjs, machine.mjs, tables.mjs, report.mjs and rooflineReport.mjs (the output).
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { benchBackend, CHROMIUM_ARGS } from './browser.mjs';
import { measureRoofline, measureSizes } from './experiments.mjs';
import { cpuModel, packWireSize } from './machine.mjs';
import {
  CHROMIUM,
  MEASURES,
  MEASURE_LABEL,
  PLAN,
  args,
  distDir,
  log,
  outDir,
  packDir,
  quick,
  repo,
  selected,
} from './options.mjs';
import { exportOnnx, ortEnabled } from './ort.mjs';
import { writeReport } from './report.mjs';
import { startServer } from './server.mjs';
import { pick, round } from './stats.mjs';
import { fmtMs } from './tables.mjs';
import { runTorch } from './torch.mjs';

async function main() {
  if (args.has('report-only')) {
    // Re-render RESULTS.md (and the targets) from an existing results.json, without measuring anything.
    writeReport(JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')));
    return;
  }
  const started = Date.now();
  const loadAverageAtStart = loadavg();
  if (!args.has('no-build')) {
    log('building the bench page (vite.bench.config.ts) ...');
    const { build } = await import('vite');
    await build({ configFile: join(repo, 'vite.bench.config.ts'), logLevel: 'warn' });
  }
  if (!existsSync(join(distDir, 'index.html')))
    throw new Error(`${distDir}/index.html is missing; run without --no-build`);
  const server = await startServer();
  if (args.has('keep-open')) {
    log(`serving ${server.url}index.html?backend=wasm&phase=steady (Ctrl-C to stop)`);
    return;
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: sudo apt-get install chromium`);

  const pytorch = runTorch(); // before the browser, so the two never share the 2 cores
  const onnx = exportOnnx();
  if (pytorch) {
    for (const [n, m] of Object.entries(pytorch.threads)) {
      log(
        `PyTorch ${pytorch.torchVersion}, ${n} thread(s): ${MEASURES.map((k) => `${k} ${fmtMs(m[k].median)}`).join(', ')}`,
      );
    }
  }

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const chromiumVersion = browser.version();
  const backends = {};
  const failures = {};
  for (const backend of selected) {
    if (!PLAN[backend]) continue;
    log(`--- ${backend} ---`);
    const t0 = Date.now();
    try {
      backends[backend] = await benchBackend(browser, server, backend);
    } catch (error) {
      failures[backend] = String(error?.message ?? error);
      log(`${backend} failed: ${failures[backend]}`);
    }
    log(`${backend}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const roofline = await measureRoofline(browser, server);
  const sizes = await measureSizes(browser, server);
  await browser.close();
  await server.close();

  const pack = packWireSize();
  const packJson = JSON.parse(readFileSync(join(packDir, 'pack.json'), 'utf8'));
  const results = {
    date: new Date().toISOString(),
    quick,
    seconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpuModel: cpuModel(),
      cores: cpus().length,
      memoryBytes: totalmem(),
      kernel: release(),
      node: process.version,
      chromium: `Chromium ${chromiumVersion}`,
      chromiumArgs: CHROMIUM_ARGS,
      loadAverageAtStart,
      loadAverageAtEnd: loadavg(),
    },
    pack: {
      id: packJson.id,
      digest: pack.digest,
      files: pack.files,
      rawBytes: pack.rawBytes,
      gzipBytes: pack.gzipBytes,
      brotliBytes: pack.brotliBytes,
    },
    method: {
      measures: MEASURE_LABEL,
      plan: PLAN,
      notes: [
        'Browser: the app engine (src/engine/engine.ts PyramidEngine) in a module worker, Vite build of bench/ (vite.bench.config.ts).',
        'Steady-state runs follow one warm-up run per measure; budgets per measure are in plan; run counts are recorded per measure.',
        'Browser times include what the engine does around the forward pass (noise, batching, readback, RGBA conversion); PyTorch times are the forward passes of scripts/reference.py.',
        'compareGrid in PyTorch is one forward of batch 56; the engine batches 32 images per forward by default.',
        'Peak memory: tf.profile().peakBytes and the largest totalTensorsSnapshot over one run of each profiled measure.',
      ],
    },
    pytorch: pytorch
      ? {
          torchVersion: pytorch.torchVersion,
          defaultThreads: pytorch.defaultThreads,
          threads: Object.fromEntries(
            Object.entries(pytorch.threads).map(([n, m]) => [
              n,
              Object.fromEntries(MEASURES.map((k) => [k, pick(m[k])])),
            ]),
          ),
          readPackMs: round(pytorch.readPackMs),
        }
      : null,
    backends,
    failures,
    ...(onnx ? { onnx } : { ortSkipped: ortEnabled() ? 'the ONNX export failed (see the log)' : '--no-ort' }),
    roofline,
    sizes,
  };
  writeReport(results);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
