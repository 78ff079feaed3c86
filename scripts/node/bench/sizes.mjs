// Cost against image size: the pipeline's real pack configurations at 32, 64 and 128 px (scripts/pipeline/config.py:
// cifar10, px64, px128) and the narrower ones proposed for the browser (px64lite), with random weights
// (scripts/bench_size_packs.py writes them into the ignored bench/size-packs/), timed on WASM with the engine's
// default threads in the bench page: the compare grid (7 levels x 8 samples) and a 16-sample grid (pool3 x 16),
// peak tf.memory(), and each configuration's FLOPs per SP sample from its arch (flops.mjs, spFlopsPerSample).
// results.sizes is keyed by configuration name, by size, each size's default before its proposals.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadPage } from './browser.mjs';
import { convFlops, isConvKernel, spFlopsPerSample } from './flops.mjs';
import { PYTHON, log, quick, repo } from './options.mjs';
import { round, stats } from './stats.mjs';

export const SIZE_PACKS_DIR = join(repo, 'bench', 'size-packs');
export const SIZE_MEASURES = ['compareGrid', 'grid16'];
export const COMPARE_SAMPLES = 7 * 8;
/** The target: the 64 px compare grid within this on WASM with 2 threads. */
export const TARGET_64_MS = 1000;

/** Makes (or reuses) the random-weight packs; returns {config: {config, imageSize, proposal, packDir, created}}. */
function ensurePacks() {
  const result = spawnSync(PYTHON, ['scripts/bench_size_packs.py', '--out', SIZE_PACKS_DIR], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (result.status !== 0)
    throw new Error(`scripts/bench_size_packs.py failed (${result.status}): ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1));
}

/** FLOPs per SP sample of a pack, from its pack.json (arch, levels, image size). */
export function packFlops(packJson) {
  return spFlopsPerSample(packJson.models.sp.arch, packJson.levels, packJson.imageSize);
}

/** The conv FLOPs and time one profiled run spent, from the page's conv table (for the cross-check with the arch). */
export function profiledConvs(convs) {
  let flops = 0;
  let ms = 0;
  for (const c of Object.values(convs ?? {})) {
    if (!isConvKernel(c.kernel)) continue;
    flops += convFlops(c) * c.count;
    ms += c.ms;
  }
  return { flops, ms };
}

export async function benchSizes(browser, server) {
  log('image sizes: packs (scripts/bench_size_packs.py) ...');
  const packs = ensurePacks();
  const context = await browser.newContext();
  const page = await context.newPage();
  const out = {};
  try {
    for (const [config, { imageSize: size, proposal, packDir, created }] of Object.entries(packs)) {
      const packJson = JSON.parse(readFileSync(resolve(repo, packDir, 'pack.json'), 'utf8'));
      const packUrl = `${relative(join(repo, 'bench'), resolve(repo, packDir))}/pack.json`;
      const query = new URLSearchParams({
        backend: 'wasm',
        phase: 'steady',
        pack: packUrl,
        noStore: '1',
        measures: SIZE_MEASURES.join(','),
        profile: SIZE_MEASURES.join(','),
        minRuns: quick ? '1' : '3',
        maxRuns: quick ? '2' : '15',
        budgetMs: quick ? '1000' : '5000',
      });
      try {
        const report = await loadPage(page, `${server.url}index.html?${query}`, 15 * 60_000);
        const cold = report.events.find((e) => e.type === 'cold');
        const steady = report.events.find((e) => e.type === 'steady');
        const compareProfile = steady.profiles.compareGrid;
        const peakBytes = Math.max(
          cold.memoryAfterLoad.numBytes,
          ...SIZE_MEASURES.map((m) => steady.profiles[m]?.peakBytes ?? 0),
        );
        const convs = profiledConvs(compareProfile?.convs);
        out[config] = {
          config,
          proposal,
          imageSize: packJson.imageSize,
          packCreated: created,
          backend: cold.backend,
          threads: cold.threads,
          spArch: packJson.models.sp.arch,
          levels: packJson.levels,
          flopsPerSample: packFlops(packJson),
          profiledConvFlopsPerSample: round(convs.flops / COMPARE_SAMPLES, 0),
          profiledConvMs: round(convs.ms),
          measures: Object.fromEntries(SIZE_MEASURES.map((m) => [m, stats(steady.results[m]?.runs)])),
          memory: {
            afterLoad: cold.memoryAfterLoad,
            peakBytes,
            peakBytesBy: Object.fromEntries(SIZE_MEASURES.map((m) => [m, steady.profiles[m]?.peakBytes ?? null])),
          },
        };
        log(
          `${size} px (${config}): compare grid ${out[config].measures.compareGrid?.median} ms, 16 samples ${out[config].measures.grid16?.median} ms, peak ${(peakBytes / 1e6).toFixed(1)} MB, ${(out[config].flopsPerSample.engine / 1e6).toFixed(0)} MFLOP/sample`,
        );
      } catch (error) {
        out[config] = { config, proposal, imageSize: size, error: String(error?.message ?? error) };
        log(`${size} px (${config}) failed: ${out[config].error}`);
      }
    }
  } finally {
    await context.close();
  }
  return out;
}
