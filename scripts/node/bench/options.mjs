// The bench's command line (see main.mjs), where it reads and writes, and what it runs on each backend: the measures,
// their labels and the per-backend plan (run counts and time budgets).
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, '').split('=');
    return [k, v.length ? v.join('=') : true];
  }),
);
export const quick = args.has('quick');
export const outDir = resolve(repo, String(args.get('out') ?? 'bench'));
export const distDir = join(repo, 'bench', 'tmp', 'dist');
export const packDir = join(repo, 'models', 'cifar10');
export { CHROMIUM } from '../chromium.mjs';
export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
export const TORCH_THREADS = cpus().length; // PyTorch with every core is the baseline; 1 thread is reported too

// Display order and run order (WASM first: the backend the targets are about).
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];
export const selected = String(args.get('backends') ?? 'wasm,cpu,webgl,webgpu').split(',');
export const MEASURES = ['spGrid', 'compareGrid', 'lag', 'extract'];
export const MEASURE_LABEL = {
  coldStart: 'cold start, empty cache (to first grid)',
  warmStart: 'cold start, warm HTTP cache (to first grid)',
  spGrid: 'SP grid, 1 level x 8 samples',
  compareGrid: 'compare grid, 7 levels x 8 samples',
  lag: 'LAG, 8 candidates',
  extract: 'feature extraction (VGG, 1 image)',
};

// Budgets: ~10 minutes in all on a 2-core machine. Software GPU backends are 20-40x slower than WASM.
const SLOW = {
  warmReloads: 1,
  minRuns: 2,
  maxRuns: 5,
  budgetMs: 8000,
  // One compare grid takes ~50 s or more on these; it runs last (the other measures have warmed its kernels),
  // twice, without a warm-up run of its own: its first run includes compiling the shaders of its batch shapes.
  order: ['spGrid', 'lag', 'extract', 'compareGrid'],
  minRunsFor: { compareGrid: 2 },
  noWarmup: ['compareGrid'],
  profile: ['spGrid'],
  batchSweep: [],
  batchSweepRuns: 0,
};
export const PLAN = {
  wasm: {
    warmReloads: 5,
    minRuns: 5,
    maxRuns: 30,
    budgetMs: 5000,
    order: MEASURES,
    minRunsFor: {},
    noWarmup: [],
    profile: MEASURES,
    batchSweep: [8, 16, 56],
    batchSweepRuns: 3,
    // The engine runs WASM with min(cores, 4) threads; this also times it on one thread (skipped on 1 core).
    threadsExperiment: 1,
  },
  cpu: { ...SLOW },
  webgl: { ...SLOW },
  webgpu: { ...SLOW },
};
if (quick) {
  for (const plan of Object.values(PLAN)) {
    Object.assign(plan, { warmReloads: 1, minRuns: 1, maxRuns: 3, budgetMs: 1000, profile: [], batchSweep: [] });
  }
}

export const log = (...parts) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);
