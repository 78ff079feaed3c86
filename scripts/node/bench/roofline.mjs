// The WASM roofline: the best float32 multiply-add throughput WASM SIMD128 reaches in this Chromium on this machine,
// from the register-blocked kernels of bench/roofline/*.wat (assembled here with wabt), with f32x4.mul + f32x4.add
// and with relaxed SIMD's f32x4.relaxed_madd, on 1 thread and on 2 threads (two workers at once). The page is
// bench/roofline.html (roofline.ts, roofline.worker.ts). Each kernel's stored accumulators are compared with
// madd.mjs's JavaScript emulation; a kernel that fails the check gets no figure.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ADD, FLOPS_PER_TRIP, FUSED_PROBE, MUL, expectedAccumulators, maxUlpDifference, startValues } from './madd.mjs';
import { log, quick, repo } from './options.mjs';
import { round } from './stats.mjs';

export const KERNELS = {
  mulAdd: { file: 'bench/roofline/mul-add.wat', label: 'f32x4.mul + f32x4.add', relaxed: false },
  fma: { file: 'bench/roofline/relaxed-madd.wat', label: 'f32x4.relaxed_madd (relaxed SIMD FMA)', relaxed: true },
};
export const THREADS = [1, 2];
/** The verdict's threshold: an own relaxed-SIMD conv kernel is worth trying only if FMA is this much faster. */
export const FMA_WORTH = 1.3;
const CHECK_TRIPS = 1000;

/** The kernels' binaries, assembled from the committed .wat with the SIMD and relaxed-SIMD features on. */
export async function assembleKernels() {
  const wabt = await createRequire(import.meta.url)('wabt')();
  const out = {};
  for (const [name, kernel] of Object.entries(KERNELS)) {
    const text = readFileSync(join(repo, kernel.file), 'utf8');
    const module = wabt.parseWat(kernel.file, text, { simd: true, relaxed_simd: true });
    try {
      module.validate();
      out[name] = Array.from(module.toBinary({}).buffer);
    } finally {
      module.destroy();
    }
  }
  return out;
}

/** Every kernel on `threads` workers, taking turns: check, then GFLOP/s per round (all threads' FLOPs / wall time). */
async function runKernels(page, wasm, threads) {
  const start = Array.from(startValues());
  const request = {
    kernels: wasm,
    threads,
    // Many short rounds, best taken: on a shared machine the best round is one that had the cores to itself.
    rounds: quick ? 10 : 40,
    targetMs: 40,
    start,
    checkTrips: CHECK_TRIPS,
    mul: MUL,
    add: ADD,
    probe: [FUSED_PROBE.x, FUSED_PROBE.y, FUSED_PROBE.z],
  };
  const run = await page.evaluate((r) => globalThis.__roofline.run(r), request);
  if (run.error) throw new Error(`roofline page: ${run.error}`);
  return Object.fromEntries(Object.entries(run.kernels).map(([name, k]) => [name, kernelFigures(name, k, threads)]));
}

/** One kernel's check and GFLOP/s from the page's run. */
function kernelFigures(name, run, threads) {
  if (!run.valid) return { accepted: false, error: run.error };
  const fused = KERNELS[name].relaxed ? run.probe[0] === FUSED_PROBE.fused : false;
  if (KERNELS[name].relaxed && run.probe[0] !== FUSED_PROBE.fused && run.probe[0] !== FUSED_PROBE.unfused)
    return { accepted: true, error: `relaxed_madd probe gave ${run.probe[0]}, neither fused nor mul + add` };
  const expected = expectedAccumulators(Float32Array.from(startValues()), CHECK_TRIPS, fused);
  const ulps = Math.max(...run.checked.map((c) => maxUlpDifference(c, expected)));
  // mul + add is exact IEEE arithmetic both sides; the fused emulation may be 1 ulp off (madd.mjs, maddF32).
  const check = { trips: CHECK_TRIPS, maxUlps: ulps, passed: ulps <= (fused ? 1 : 0) };
  if (!check.passed) return { accepted: true, check, error: `results differ from JavaScript by ${ulps} ulps` };
  const perRound = run.rounds.map((r) => (threads * run.trips * FLOPS_PER_TRIP) / (r.wallMs * 1e6));
  const sorted = [...perRound].sort((a, b) => a - b);
  return {
    accepted: true,
    fused: KERNELS[name].relaxed ? fused : undefined,
    check,
    trips: run.trips,
    warmupCalls: run.warmupCalls,
    gflops: {
      best: round(sorted.at(-1)),
      median: round(sorted[sorted.length >> 1]),
      min: round(sorted[0]),
      rounds: perRound.length,
    },
    perRoundGflops: perRound.map((g) => round(g)),
    roundsMs: run.rounds.map((r) => ({ wallMs: round(r.wallMs), threadMs: r.threadMs.map((t) => round(t)) })),
  };
}

/**
 * FMA's speed-up from rounds that ran next to each other (the kernels take turns): the median of the per-pair
 * ratios, which a load that comes and goes moves far less than the ratio of the two best rounds.
 */
export function pairedSpeedup(fmaRounds, mulAddRounds) {
  const n = Math.min(fmaRounds?.length ?? 0, mulAddRounds?.length ?? 0);
  if (n === 0) return null;
  const ratios = Array.from({ length: n }, (_, i) => fmaRounds[i] / mulAddRounds[i]).sort((a, b) => a - b);
  return n % 2 ? ratios[n >> 1] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
}

/** The roofline figures and the relaxed-SIMD verdict, measured in `browser` (the bench's Chromium). */
export async function benchRoofline(browser, server) {
  const wasm = await assembleKernels();
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  try {
    await page.goto(`${server.url}roofline.html`, { waitUntil: 'load', timeout: 60_000 });
    await page.waitForFunction(() => globalThis.__roofline !== undefined, null, { timeout: 60_000 });
    const kernels = Object.fromEntries(Object.keys(KERNELS).map((k) => [k, { label: KERNELS[k].label, threads: {} }]));
    for (const threads of THREADS) {
      const results = await runKernels(page, wasm, threads);
      for (const [name, result] of Object.entries(results)) {
        kernels[name].threads[threads] = result;
        log(
          `roofline ${name}, ${threads} thread(s): ${result.gflops ? `${result.gflops.best} GFLOP/s best, ${result.gflops.median} median` : `failed: ${result.error}`}`,
        );
      }
    }
    return { ...summarize(kernels), kernels, consoleErrors };
  } finally {
    await context.close();
  }
}

/** The roofline per thread count (the best kernel's best round), the FMA speed-up and the verdict. */
export function summarize(kernels) {
  const best = (name, t) => kernels[name]?.threads[t]?.gflops?.best ?? null;
  const gflops = {};
  const fmaSpeedup = {};
  for (const t of THREADS) {
    const values = Object.keys(KERNELS)
      .map((k) => best(k, t))
      .filter((v) => v !== null);
    gflops[t] = values.length ? Math.max(...values) : null;
    const paired = pairedSpeedup(kernels.fma?.threads[t]?.perRoundGflops, kernels.mulAdd?.threads[t]?.perRoundGflops);
    fmaSpeedup[t] = paired === null ? null : round(paired, 3);
  }
  const fma = kernels.fma?.threads?.[1];
  const relaxedSimd = fma
    ? { accepted: fma.accepted, fused: fma.fused ?? null, error: fma.accepted ? null : (fma.error ?? null) }
    : null;
  return { gflops, fmaSpeedup, relaxedSimd, verdict: verdict(fmaSpeedup) };
}

/** The relaxed-SIMD decision: an own FMA conv kernel is worth trying only if FMA pays on every thread count. */
export function verdict(fmaSpeedup) {
  const measured = THREADS.filter((t) => fmaSpeedup[t] !== null && fmaSpeedup[t] !== undefined);
  if (measured.length === 0)
    return { pursue: false, text: 'no verdict: the FMA kernel did not run (see the roofline table)' };
  const each = measured.map((t) => `${fmaSpeedup[t].toFixed(2)}x on ${t} thread${t > 1 ? 's' : ''}`).join(', ');
  const worst = Math.min(...measured.map((t) => fmaSpeedup[t]));
  if (worst >= FMA_WORTH)
    return {
      pursue: true,
      text: `worth trying: FMA gives ${worst.toFixed(2)}x here (${each}; >= ${FMA_WORTH}x), so an own relaxed-SIMD conv kernel could beat XNNPACK's mul + add`,
    };
  return {
    pursue: false,
    text: `not pursued: FMA gives only ${worst.toFixed(2)}x here (${each}; threshold ${FMA_WORTH}x)`,
  };
}
