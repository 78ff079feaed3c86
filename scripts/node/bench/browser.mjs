// Driving the bench page in headless Chromium: one backend's cold start, warm starts, steady-state measures, WASM
// thread experiment, memory and per-kernel profiles, read from the page's window.__bench report (bench/bench.ts).
import { cpus } from 'node:os';
import { MEASURES, PLAN, log } from './options.mjs';
import { benchOrt } from './ort.mjs';
import { round, sortedTimes, stats } from './stats.mjs';

export { CHROMIUM_ARGS } from '../chromium.mjs';

export async function loadPage(page, url, timeoutMs) {
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  await page.waitForFunction(() => window.__bench?.finished === true, null, { timeout: timeoutMs, polling: 200 });
  const report = await page.evaluate(() => window.__bench);
  const error = report.events.find((e) => e.type === 'error');
  if (error) throw new Error(`bench page failed: ${error.message}`);
  return report;
}

/** The cold-start timeline of one page load, in ms from navigation start. */
function timeline(report) {
  const cold = report.events.find((e) => e.type === 'cold');
  const m = cold.marks;
  const nav = report.navigationStart;
  const span = (a, b) => round(m[b] - m[a]);
  const phases = {
    pageBoot: round(m.workerBoot - nav), // HTML + JS + worker module (TF.js core) loaded and running
    backendInit: span('workerBoot', 'backendReady'), // Cache Storage open + backend start (WASM compile, GPU device)
    manifest: span('manifestStart', 'manifestDone'), // pack.json fetch, validation, digest
    download: span('downloadStart', 'verifyStart'), // shards: network, or Cache Storage read + sha256 when cached
    verify: span('verifyStart', 'decodeStart'), // sha256 of downloaded shards
    decode: span('decodeStart', 'decodeDone'), // float16 / uint8 -> float32
    storeAndUpload: span('decodeDone', 'warmupStart'), // Cache Storage writes, weight upload to the backend
    warmup: span('warmupStart', 'warmupDone'), // one small forward of each network (shader compilation)
    firstInference: span('warmupDone', 'firstGrid'), // extract + SP grid (1 level x 8 samples)
  };
  const total = round(m.firstGrid - nav);
  const other = round(total - Object.values(phases).reduce((a, b) => a + b, 0) - span('backendReady', 'manifestStart'));
  const groups = {
    pageBoot: phases.pageBoot,
    packDownload: round(phases.manifest + phases.download),
    packDecodeVerify: round(phases.verify + phases.decode),
    backendAndWarmup: round(phases.backendInit + phases.storeAndUpload + phases.warmup),
    firstInference: phases.firstInference,
  };
  return { total, phases, groups, unaccounted: other, fromCache: cold.fromCache };
}

function summarizeStarts(timelines) {
  if (timelines.length === 0) return null;
  const keys = Object.keys(timelines[0].phases);
  const groupKeys = Object.keys(timelines[0].groups);
  return {
    total: stats(timelines.map((t) => t.total)),
    phases: Object.fromEntries(keys.map((k) => [k, stats(timelines.map((t) => t.phases[k]))])),
    groups: Object.fromEntries(groupKeys.map((k) => [k, stats(timelines.map((t) => t.groups[k]))])),
    fromCache: timelines.map((t) => t.fromCache),
  };
}

export async function benchBackend(browser, server, backend) {
  const plan = PLAN[backend];
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  const base = `${server.url}index.html?backend=${backend}`;
  const slowMs = 15 * 60_000;
  try {
    // 1. Cold start in a fresh context: nothing cached.
    server.resetWire();
    const coldReport = await loadPage(page, `${base}&phase=cold`, slowMs);
    const coldWire = {
      totalBytes: server.wire.total,
      packBytes: server.wire.models,
      requests: server.wire.requests.length,
    };
    const cold = timeline(coldReport);
    const coldEvent = coldReport.events.find((e) => e.type === 'cold');
    log(
      `${backend}: cold start ${cold.total} ms (${coldEvent.detail}); wire ${coldWire.totalBytes} B, pack ${coldWire.packBytes} B`,
    );

    // 2. Warm starts: reloads in the same context (HTTP cache and the engine's Cache Storage are warm).
    const warm = [];
    let warmWire = null;
    for (let i = 0; i < plan.warmReloads; i++) {
      server.resetWire();
      warm.push(timeline(await loadPage(page, `${base}&phase=cold`, slowMs)));
      warmWire = {
        totalBytes: server.wire.total,
        packBytes: server.wire.models,
        requests: server.wire.requests.length,
      };
    }
    log(`${backend}: warm starts ${warm.map((t) => t.total).join(', ')} ms`);

    // 3. Steady state (this load is one more warm start).
    const query = new URLSearchParams({
      phase: 'steady',
      measures: plan.order.join(','),
      minRunsFor: Object.entries(plan.minRunsFor)
        .map(([k, v]) => `${k}:${v}`)
        .join(','),
      noWarmup: plan.noWarmup.join(','),
      minRuns: String(plan.minRuns),
      maxRuns: String(plan.maxRuns),
      budgetMs: String(plan.budgetMs),
      profile: plan.profile.join(','),
      batchSweep: plan.batchSweep.join(','),
      batchSweepRuns: String(plan.batchSweepRuns),
    });
    const steadyReport = await loadPage(page, `${base}&${query}`, slowMs);
    warm.push(timeline(steadyReport));
    const steady = steadyReport.events.find((e) => e.type === 'steady');
    for (const event of steadyReport.events) if (event.type === 'progress') log(event.message);

    // 4. The same with another WASM thread count (one thread, against the engine's default of min(cores, 4)).
    let threadsExperiment;
    if (plan.threadsExperiment && cpus().length > 1) {
      const q = new URLSearchParams({
        phase: 'steady',
        wasmThreads: String(plan.threadsExperiment),
        minRuns: '3',
        maxRuns: '20',
        budgetMs: '3000',
      });
      try {
        const r = await loadPage(page, `${base}&${q}`, slowMs);
        const ev = r.events.find((e) => e.type === 'steady');
        const coldEv = r.events.find((e) => e.type === 'cold');
        threadsExperiment = {
          requested: plan.threadsExperiment,
          threads: coldEv.threads,
          detail: coldEv.detail,
          warmStart: timeline(r),
          measures: Object.fromEntries(Object.entries(ev.results).map(([k, v]) => [k, stats(v.runs)])),
        };
        log(
          `${backend} with ${coldEv.threads} threads: ${Object.entries(threadsExperiment.measures)
            .map(([k, v]) => `${k} ${v.median} ms`)
            .join(', ')}`,
        );
      } catch (error) {
        threadsExperiment = { threads: plan.threadsExperiment, error: String(error?.message ?? error) };
        log(`${backend} threads experiment failed: ${threadsExperiment.error}`);
      }
    }

    // 5. The onnxruntime-web peer on the compare grid, at the engine's thread count and the experiment's.
    const ort = await benchOrt((url) => loadPage(page, url, slowMs), base, backend, [
      coldEvent.threads ?? Math.min(cpus().length, 4),
      ...(plan.threadsExperiment && cpus().length > 1 ? [plan.threadsExperiment] : []),
    ]);

    const measures = Object.fromEntries(
      MEASURES.map((name) => [
        name,
        steady.results[name]
          ? { ...stats(steady.results[name].runs), warmupMs: round(steady.results[name].warmupMs) }
          : null,
      ]),
    );
    const profiles = steady.profiles;
    const peakBytes = Math.max(coldEvent.memoryAfterLoad.numBytes, ...Object.values(profiles).map((p) => p.peakBytes));
    const peakTensors = Math.max(
      coldEvent.memoryAfterLoad.numTensors,
      ...Object.values(profiles).map((p) => p.peakTensors),
    );
    return {
      backend: coldEvent.backend,
      detail: coldEvent.detail,
      fellBackFrom: coldEvent.fellBackFrom,
      fallbackReason: coldEvent.fallbackReason,
      crossOriginIsolated: { page: coldReport.crossOriginIsolated, worker: coldEvent.workerCrossOriginIsolated },
      wasm: coldEvent.backend === 'wasm' ? { simd: coldEvent.simd, threads: coldEvent.threads } : undefined,
      coldStart: { ...cold, wire: coldWire },
      warmStart: { ...summarizeStarts(warm), runs: warm, wire: warmWire },
      measures,
      rawRuns: Object.fromEntries(Object.entries(steady.results).map(([k, v]) => [k, v.runs.map((x) => round(x))])),
      memory: {
        afterLoad: coldEvent.memoryAfterLoad,
        peak: { numBytes: peakBytes, numTensors: peakTensors, over: ['load', ...plan.profile] },
        final: steady.finalMemory,
      },
      profiles: Object.fromEntries(
        Object.entries(profiles).map(([k, p]) => [
          k,
          {
            ...p,
            profiledWallMs: round(p.profiledWallMs),
            byKernel: sortedTimes(p.byKernel),
            byShape: sortedTimes(p.byShape, 25),
          },
        ]),
      ),
      batching: Object.keys(steady.batching).length
        ? Object.fromEntries(
            Object.entries(steady.batching).map(([k, v]) => [k, { ...stats(v.runs), peakBytes: v.peakBytes }]),
          )
        : undefined,
      threadsExperiment,
      ort,
      consoleErrors: consoleErrors.slice(0, 10),
    };
  } finally {
    await context.close();
  }
}
