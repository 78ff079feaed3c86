#!/usr/bin/env node
// `npm run bench`: times the app's engine (src/engine, in a module worker, built by Vite from bench/) in headless
// Chromium on every backend, and the same computations in PyTorch on the CPU with the same weights
// (scripts/bench_torch.py), then prints one table and writes bench/results.json and bench/RESULTS.md.
//
// Per backend: a cold start in a fresh browser context (empty HTTP cache and Cache Storage), warm starts (reloads
// in the same context), then steady-state runs of each measure within a time budget, peak/final tf.memory(), and a
// per-kernel profile. The software backends (CPU, WebGL and WebGPU on SwiftShader) get fewer runs; the run counts
// are recorded. Never part of `npm test`; it does not fail on slow numbers, only on a broken page.
//
// Options: --quick (small budgets), --backends=wasm,cpu,webgl,webgpu, --no-build, --no-torch,
//          --torch-json=FILE (reuse PyTorch figures), --out=DIR (default bench/), --keep-open (serve, print URL).
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, loadavg, release } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants as zlibConstants } from 'node:zlib';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, '').split('=');
    return [k, v.length ? v.join('=') : true];
  }),
);
const quick = args.has('quick');
const outDir = resolve(repo, String(args.get('out') ?? 'bench'));
const distDir = join(repo, 'bench', 'tmp', 'dist');
const packDir = join(repo, 'models', 'cifar10');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const TORCH_THREADS = cpus().length; // PyTorch with every core is the baseline; 1 thread is reported too

// Display order (issue #5) and run order (WASM first: the backend the targets are about).
const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];
const selected = String(args.get('backends') ?? 'wasm,cpu,webgl,webgpu').split(',');
const MEASURES = ['spGrid', 'compareGrid', 'lag', 'extract'];
const MEASURE_LABEL = {
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
const PLAN = {
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

const log = (...parts) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

// -----------------------------------------------------------------------------------------------------------------
// Static server: the bench build at /, packs at /models/, cross-origin isolated, with byte accounting.
// -----------------------------------------------------------------------------------------------------------------
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.map': 'application/json',
};

function startServer() {
  const wire = { total: 0, models: 0, requests: [] };
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const [root, rel, cacheControl] = path.startsWith('/models/')
      ? [join(repo, 'models'), path.slice('/models/'.length), 'public, max-age=600'] // GitHub Pages' policy
      : path.startsWith('/assets/')
        ? [distDir, path.slice(1), 'public, max-age=31536000, immutable'] // content-hashed names
        : [distDir, path === '/' ? 'index.html' : path.slice(1), 'no-cache'];
    const file = resolve(root, rel);
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': cacheControl,
    };
    let stat;
    try {
      if (!file.startsWith(resolve(root) + sep)) throw new Error('outside');
      stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
    } catch {
      response.writeHead(404, headers).end('not found');
      return;
    }
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const count = (bytes) => {
      wire.total += bytes;
      if (path.startsWith('/models/')) wire.models += bytes;
      wire.requests.push({ path, bytes });
    };
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { ...headers, ETag: etag });
      response.end();
      count(0);
      return;
    }
    const body = readFileSync(file);
    response.writeHead(200, {
      ...headers,
      ETag: etag,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.byteLength,
    });
    response.end(body);
    count(body.byteLength);
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      done({
        url: `http://127.0.0.1:${port}/`,
        wire,
        resetWire() {
          wire.total = 0;
          wire.models = 0;
          wire.requests = [];
        },
        close: () => new Promise((r) => server.close(r)),
      });
    }),
  );
}

// -----------------------------------------------------------------------------------------------------------------
// Statistics and the machine
// -----------------------------------------------------------------------------------------------------------------
function stats(values) {
  if (!values || values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median: round(median), min: round(sorted[0]), max: round(sorted.at(-1)), runs: sorted.length };
}
const round = (v, digits = 2) => (v === null || v === undefined ? v : Number(v.toFixed(digits)));

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line ? line.split(':')[1].trim() : cpus()[0]?.model;
  } catch {
    return cpus()[0]?.model;
  }
}

function packWireSize() {
  const pack = JSON.parse(readFileSync(join(packDir, 'pack.json'), 'utf8'));
  const files = ['pack.json', ...Object.keys(pack.shards)];
  let raw = 0;
  let gzip = 0;
  let brotli = 0;
  for (const file of files) {
    const bytes = readFileSync(join(packDir, file));
    raw += bytes.byteLength;
    gzip += gzipSync(bytes, { level: 9 }).byteLength;
    brotli += brotliCompressSync(bytes, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength;
  }
  return { files, rawBytes: raw, gzipBytes: gzip, brotliBytes: brotli, shardBytes: pack.shards, digest: pack.digest };
}

// -----------------------------------------------------------------------------------------------------------------
// PyTorch
// -----------------------------------------------------------------------------------------------------------------
function runTorch() {
  if (args.has('torch-json')) return JSON.parse(readFileSync(resolve(String(args.get('torch-json'))), 'utf8'));
  if (args.has('no-torch')) return null;
  if (!existsSync(PYTHON)) {
    log(`${PYTHON} not found: no PyTorch figures`);
    return null;
  }
  log(`PyTorch (${PYTHON} scripts/bench_torch.py, threads ${TORCH_THREADS} and 1) ...`);
  const result = spawnSync(
    PYTHON,
    ['scripts/bench_torch.py', '--pack-dir', packDir, '--threads', String(TORCH_THREADS), '1', '--budget-s', quick ? '0.5' : '3'],
    { cwd: repo, encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  if (result.status !== 0) {
    log(`bench_torch.py failed (${result.status}): ${result.stderr.slice(-2000)}`);
    return null;
  }
  return JSON.parse(result.stdout);
}

// -----------------------------------------------------------------------------------------------------------------
// Browser
// -----------------------------------------------------------------------------------------------------------------
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
];

async function loadPage(page, url, timeoutMs) {
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

async function benchBackend(browser, server, backend) {
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
    const coldWire = { totalBytes: server.wire.total, packBytes: server.wire.models, requests: server.wire.requests.length };
    const cold = timeline(coldReport);
    const coldEvent = coldReport.events.find((e) => e.type === 'cold');
    log(`${backend}: cold start ${cold.total} ms (${coldEvent.detail}); wire ${coldWire.totalBytes} B, pack ${coldWire.packBytes} B`);

    // 2. Warm starts: reloads in the same context (HTTP cache and the engine's Cache Storage are warm).
    const warm = [];
    let warmWire = null;
    for (let i = 0; i < plan.warmReloads; i++) {
      server.resetWire();
      warm.push(timeline(await loadPage(page, `${base}&phase=cold`, slowMs)));
      warmWire = { totalBytes: server.wire.total, packBytes: server.wire.models, requests: server.wire.requests.length };
    }
    log(`${backend}: warm starts ${warm.map((t) => t.total).join(', ')} ms`);

    // 3. Steady state (this load is one more warm start).
    const query = new URLSearchParams({
      phase: 'steady',
      measures: plan.order.join(','),
      minRunsFor: Object.entries(plan.minRunsFor).map(([k, v]) => `${k}:${v}`).join(','),
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
      const q = new URLSearchParams({ phase: 'steady', wasmThreads: String(plan.threadsExperiment), minRuns: '3', maxRuns: '20', budgetMs: '3000' });
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
        log(`${backend} with ${coldEv.threads} threads: ${Object.entries(threadsExperiment.measures).map(([k, v]) => `${k} ${v.median} ms`).join(', ')}`);
      } catch (error) {
        threadsExperiment = { threads: plan.threadsExperiment, error: String(error?.message ?? error) };
        log(`${backend} threads experiment failed: ${threadsExperiment.error}`);
      }
    }

    const measures = Object.fromEntries(
      MEASURES.map((name) => [name, steady.results[name] ? { ...stats(steady.results[name].runs), warmupMs: round(steady.results[name].warmupMs) } : null]),
    );
    const profiles = steady.profiles;
    const peakBytes = Math.max(coldEvent.memoryAfterLoad.numBytes, ...Object.values(profiles).map((p) => p.peakBytes));
    const peakTensors = Math.max(coldEvent.memoryAfterLoad.numTensors, ...Object.values(profiles).map((p) => p.peakTensors));
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
        ? Object.fromEntries(Object.entries(steady.batching).map(([k, v]) => [k, { ...stats(v.runs), peakBytes: v.peakBytes }]))
        : undefined,
      threadsExperiment,
      consoleErrors: consoleErrors.slice(0, 10),
    };
  } finally {
    await context.close();
  }
}

// -----------------------------------------------------------------------------------------------------------------
// Report
// -----------------------------------------------------------------------------------------------------------------
const fmtMs = (v) => (v === null || v === undefined ? '—' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 1)} ms`);
const fmtBytes = (b) => `${(b / 1e6).toFixed(2)} MB`;

function buildTable(results) {
  const cols = BACKENDS.filter((b) => results.backends[b]);
  const py = results.pytorch;
  const one = py?.threads?.['1'];
  const showOne = one && py.measuresThreads !== 1;
  const head = [
    'measure',
    `PyTorch CPU, ${py?.measuresThreads ?? '?'} threads`,
    ...(showOne ? ['PyTorch CPU, 1 thread'] : []),
    ...cols.map(backendLabel),
  ];
  const rows = [];
  const cell = (b, key) => {
    const r = results.backends[b];
    if (key === 'coldStart') return `${fmtMs(r.coldStart.total)} (n=1)`;
    if (key === 'warmStart') return `${fmtMs(r.warmStart.total.median)} (${fmtMs(r.warmStart.total.min)}–${fmtMs(r.warmStart.total.max)}, n=${r.warmStart.total.runs})`;
    const m = r.measures[key];
    if (!m) return '—';
    const ratio = results.ratios[b]?.[key];
    return `${fmtMs(m.median)} (${fmtMs(m.min)}–${fmtMs(m.max)}, n=${m.runs})${ratio ? ` **${ratio.toFixed(1)}x**` : ''}`;
  };
  for (const key of ['coldStart', 'warmStart', ...MEASURES]) {
    const torch = py?.measures?.[key];
    const torch1 = one?.[key];
    rows.push([
      MEASURE_LABEL[key],
      torch ? `${fmtMs(torch.median)} (n=${torch.runs})` : '—',
      ...(showOne ? [torch1 ? `${fmtMs(torch1.median)} (n=${torch1.runs})` : '—'] : []),
      ...cols.map((b) => cell(b, key)),
    ]);
  }
  const dash = showOne ? ['—', '—'] : ['—'];
  rows.push([
    'peak tf.memory() (over the profiled runs)',
    ...dash,
    ...cols.map((b) => {
      const peak = results.backends[b].memory.peak;
      return `${fmtBytes(peak.numBytes)}, ${peak.numTensors} tensors (${(peak.over ?? []).join(' + ')})`;
    }),
  ]);
  rows.push(['final tf.memory()', ...dash, ...cols.map((b) => `${fmtBytes(results.backends[b].memory.final.numBytes)}, ${results.backends[b].memory.final.numTensors} tensors`)]);
  return [head, ...rows];
}

function backendLabel(b) {
  return { webgpu: 'WebGPU (SwiftShader)', webgl: 'WebGL (SwiftShader)', wasm: 'WASM', cpu: 'CPU (JS)' }[b];
}

function markdownTable(table) {
  const [head, ...rows] = table;
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function textTable(table) {
  const plain = table.map((r) => r.map((c) => String(c).replace(/\*\*/g, '')));
  const widths = plain[0].map((_, i) => Math.max(...plain.map((r) => r[i].length)));
  return plain.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n');
}

function coldBreakdownTable(results) {
  const cols = BACKENDS.filter((b) => results.backends[b]);
  const keys = ['pageBoot', 'packDownload', 'packDecodeVerify', 'backendAndWarmup', 'firstInference'];
  const label = {
    pageBoot: 'page + worker boot (JS, TF.js core)',
    packDownload: 'pack download (pack.json + shards)',
    packDecodeVerify: 'pack verify (sha256) + decode',
    backendAndWarmup: 'backend start + weight upload + warm-up',
    firstInference: 'first inference (extract + 1x8 grid)',
  };
  const head = ['cold start phase', ...cols.flatMap((b) => [`${backendLabel(b)} empty`, `${backendLabel(b)} warm`])];
  const rows = keys.map((k) => [
    label[k],
    ...cols.flatMap((b) => [fmtMs(results.backends[b].coldStart.groups[k]), fmtMs(results.backends[b].warmStart.groups[k].median)]),
  ]);
  rows.push([
    '**total: navigation to first grid**',
    ...cols.flatMap((b) => [`**${fmtMs(results.backends[b].coldStart.total)}**`, `**${fmtMs(results.backends[b].warmStart.total.median)}**`]),
  ]);
  return [head, ...rows];
}

function targets(results) {
  const wasm = results.backends.wasm;
  const torch = results.pytorch?.measures;
  const out = [];
  if (wasm && torch) {
    const ratio = wasm.measures.compareGrid.median / torch.compareGrid.median;
    out.push({
      target: 'WASM compare grid <= 1.5x PyTorch-CPU',
      value: `${ratio.toFixed(2)}x (${fmtMs(wasm.measures.compareGrid.median)} vs ${fmtMs(torch.compareGrid.median)}, PyTorch ${results.pytorch.measuresThreads} threads)`,
      met: ratio <= 1.5,
    });
    const one = results.pytorch.threads?.['1']?.compareGrid;
    if (one && results.pytorch.measuresThreads !== 1) {
      const r1 = wasm.measures.compareGrid.median / one.median;
      out.push({ target: '  (same, against PyTorch with 1 thread)', value: `${r1.toFixed(2)}x (vs ${fmtMs(one.median)})`, met: r1 <= 1.5 });
    }
  }
  if (wasm) {
    out.push({
      target: 'WASM cold start to first grid <= 2 s, warm HTTP cache',
      value: `${fmtMs(wasm.warmStart.total.median)} median of ${wasm.warmStart.total.runs} (empty cache: ${fmtMs(wasm.coldStart.total)})`,
      met: wasm.warmStart.total.median <= 2000,
    });
  }
  out.push({
    target: 'default pack <= 10 MB on the wire',
    value: `${fmtBytes(results.pack.rawBytes)} served uncompressed (pack.json + shards; gzip -9 would be ${fmtBytes(results.pack.gzipBytes)})`,
    met: results.pack.rawBytes <= 10e6,
  });
  return out;
}

/** FLOPs (multiply-adds x 2) of a FusedConv2D / _FusedMatMul entry keyed "Kernel [in] x [filter]". */
function flopsOf(key, count) {
  const shapes = [...key.matchAll(/\[([\d,]*)\]/g)].map((m) => m[1].split(',').map(Number));
  if (key.startsWith('FusedConv2D') && shapes.length === 2) {
    const [[n, h, w], [kh, kw, cin, cout]] = shapes;
    return 2 * n * h * w * kh * kw * cin * cout; // stride 1, same padding: output is n x h x w x cout
  }
  if (key.startsWith('_FusedMatMul') && shapes.length === 2) {
    const [[m, k], [, n]] = shapes;
    return 2 * m * k * n;
  }
  return null;
}

/** The WASM profile (where the time goes) and the experiments, for RESULTS.md. */
function whereTimeGoes(results) {
  const wasm = results.backends.wasm;
  if (!wasm?.profiles?.compareGrid) return [];
  const p = wasm.profiles.compareGrid;
  const total = Object.values(p.byKernel).reduce((a, v) => a + v.ms, 0);
  const lines = [
    '## Where the time goes (WASM, one compare grid under tf.profile)',
    '',
    `${p.kernelCount} kernels (op scopes included), ${fmtMs(total)} of kernel time in a ${fmtMs(p.profiledWallMs)} profiled run.`,
    '',
    '| kernel | time | share | calls |',
    '|---|---|---|---|',
    ...Object.entries(p.byKernel)
      .slice(0, 8)
      .map(([k, v]) => `| ${k} | ${fmtMs(v.ms)} | ${((100 * v.ms) / total).toFixed(1)}% | ${v.count} |`),
    '',
    'Heaviest layers (kernel, input x filter shapes; GFLOP/s counts a multiply-add as 2):',
    '',
    '| layer | time | share | calls | GFLOP/s |',
    '|---|---|---|---|---|',
    ...Object.entries(p.byShape)
      .slice(0, 10)
      .map(([k, v]) => {
        const flops = flopsOf(k, v.count);
        return `| \`${k}\` | ${fmtMs(v.ms)} | ${((100 * v.ms) / total).toFixed(1)}% | ${v.count} | ${flops ? ((flops * v.count) / (v.ms * 1e6)).toFixed(1) : '—'} |`;
      }),
    '',
  ];
  if (wasm.batching) {
    lines.push(
      '### Batch size (WASM compare grid, images per forward)',
      '',
      'Peak = tf.profile peak bytes during one compare grid; for the other sizes it includes a second copy of the',
      `weights (${fmtBytes(wasm.memory.afterLoad.numBytes)} with the features), held by the default engine meanwhile.`,
      '',
      '| images per forward | compare grid | peak tf.memory() |',
      '|---|---|---|',
      `| 32 (engine default) | ${fmtMs(wasm.measures.compareGrid.median)} (n=${wasm.measures.compareGrid.runs}) | ${fmtBytes(wasm.profiles.compareGrid.peakBytes)} |`,
      ...Object.entries(wasm.batching).map(
        ([k, v]) => `| ${k} | ${fmtMs(v.median)} (${fmtMs(v.min)}–${fmtMs(v.max)}, n=${v.runs}) | ${v.peakBytes ? fmtBytes(v.peakBytes) : '—'} |`,
      ),
      '',
    );
  }
  const t = wasm.threadsExperiment;
  if (t) {
    lines.push(`### WASM threads (engine default: ${wasm.wasm.threads} thread(s), min(cores, 4) when cross-origin isolated)`, '');
    if (t.error) lines.push(`Starting WASM with ${t.threads} threads failed: ${t.error}`, '');
    else {
      lines.push(
        `The same measures with ${t.requested} thread(s) requested (\`?wasmThreads=${t.requested}\`); TF.js's getThreadsCount() then reports ${t.threads} (${t.detail}).`,
        '',
        `| measure | ${wasm.wasm.threads} thread(s) (engine default) | ${t.requested} thread(s) requested | engine default vs requested |`,
        '|---|---|---|---|',
        ...MEASURES.filter((k) => t.measures[k]).map(
          (k) => `| ${MEASURE_LABEL[k]} | ${fmtMs(wasm.measures[k].median)} | ${fmtMs(t.measures[k].median)} (n=${t.measures[k].runs}) | ${(t.measures[k].median / wasm.measures[k].median).toFixed(2)}x faster |`,
        ),
        '',
      );
    }
  }
  return lines;
}

function markdown(results, table, breakdown, targetList) {
  const m = results.machine;
  const wasm = results.backends.wasm;
  const lines = [
    '# Benchmark results',
    '',
    `Latest \`npm run bench\` (${results.date}${results.quick ? ', --quick' : ''}), pack \`${results.pack.id}\` (digest ${results.pack.digest.slice(0, 12)}).`,
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB; ${m.chromium}; Node ${m.node};`,
    `PyTorch ${results.pytorch?.torchVersion ?? '—'} on the CPU (Debian's /usr/bin/python3). Load average (1/5/15 min) at start ${m.loadAverageAtStart.map((v) => v.toFixed(2)).join(' ')}, at end ${(m.loadAverageAtEnd ?? []).map((v) => v.toFixed(2)).join(' ')} (the machine is shared; anything else running inflates the times).`,
    '',
    'Times are medians with (min–max, run count) after one warm-up run; **Nx** is the ratio to PyTorch on the same',
    `computation with the same weights, against PyTorch with ${results.pytorch?.measuresThreads ?? '?'} threads (all cores; PyTorch's own default here is ${results.pytorch?.defaultThreads ?? '?'}).`,
    'The GPU backends run on SwiftShader (CPU-emulated GPU): they show what a machine without a GPU gets when a',
    'software backend is forced, not what a real GPU does. Engine defaults: 32 images per forward.',
    '',
    markdownTable(table),
    '',
    '## Cold start, navigation to the first complete grid',
    '',
    '"empty" is a fresh browser context (empty HTTP cache and Cache Storage, n=1); "warm" is the median of reloads in',
    'the same context (HTTP cache warm; the engine reads the shards from its Cache Storage and re-checks their sha256,',
    'which is counted in "pack download"). Served from localhost, so download time is not a network figure: at',
    `50 Mbit/s the ${fmtBytes(results.pack.rawBytes)} pack alone takes ${((results.pack.rawBytes * 8) / 50e6).toFixed(1)} s.`,
    '',
    markdownTable(breakdown),
    '',
    '## Targets',
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...targetList.map((t) => `| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`),
    '',
    '## Environment checks',
    '',
    `- Cross-origin isolated: page ${wasm?.crossOriginIsolated.page ?? '?'}, worker ${wasm?.crossOriginIsolated.worker ?? '?'} (the bench server sends COOP same-origin + COEP require-corp, like vite.config.ts).`,
    `- WASM: ${wasm ? `${wasm.detail}; SIMD ${wasm.wasm.simd ? 'on' : 'off'}, ${wasm.wasm.threads} thread(s)` : 'not run'}. The engine runs WASM with min(cores, 4) threads when the page is cross-origin isolated, with a fallback to one thread if the helper threads fail to start (src/engine/backend.ts).`,
    ...BACKENDS.filter((b) => results.backends[b]).map((b) => `- ${backendLabel(b)}: ${results.backends[b].detail}`),
    '',
    `Pack on the wire: ${fmtBytes(results.pack.rawBytes)} (${results.pack.files.length} files, measured by the bench server on the cold load: ${fmtBytes(wasm?.coldStart.wire.packBytes ?? 0)}); gzip -9 ${fmtBytes(results.pack.gzipBytes)}, brotli ${fmtBytes(results.pack.brotliBytes)}.`,
    wasm ? `Whole cold page load on the wire (bench page, JS, WASM, pack): ${fmtBytes(wasm.coldStart.wire.totalBytes)}.` : '',
    '',
    ...whereTimeGoes(results),
    'Raw numbers, run counts, per-kernel profiles and the batch-size sweep: [results.json](results.json).',
    '',
  ];
  return lines.join('\n');
}

// -----------------------------------------------------------------------------------------------------------------
// Main
// -----------------------------------------------------------------------------------------------------------------
/** PyTorch with every core is the baseline of the ratios; PyTorch's own default thread count is shown too. */
function addRatios(results) {
  const py = results.pytorch;
  if (py) {
    const primary = py.threads[String(TORCH_THREADS)] ? TORCH_THREADS : Number(Object.keys(py.threads)[0]);
    py.measuresThreads = primary;
    py.measures = py.threads[String(primary)];
  }
  results.ratios = {};
  results.ratiosTo1Thread = {};
  for (const [b, r] of Object.entries(results.backends)) {
    results.ratios[b] = {};
    results.ratiosTo1Thread[b] = {};
    for (const k of MEASURES) {
      const t = py?.measures?.[k]?.median;
      const t1 = py?.threads?.['1']?.[k]?.median;
      if (t && r.measures[k]) results.ratios[b][k] = round(r.measures[k].median / t, 3);
      if (t1 && r.measures[k]) results.ratiosTo1Thread[b][k] = round(r.measures[k].median / t1, 3);
    }
  }
}

function writeReport(results) {
  addRatios(results);
  const table = buildTable(results);
  const breakdown = coldBreakdownTable(results);
  const targetList = targets(results);
  results.targets = targetList;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'RESULTS.md'), markdown(results, table, breakdown, targetList));
  if (outDir === join(repo, 'bench')) updateReadme(results, table, targetList); // --out=elsewhere: a side run
  console.log(`\n${textTable(table)}\n\n${textTable(breakdown)}\n`);
  for (const t of targetList) console.log(`${t.met ? 'MET    ' : 'NOT MET'}  ${t.target}: ${t.value}`);
  console.log(`\nwrote ${join(outDir, 'results.json')} and RESULTS.md`);
}

/** The README's copy of the summary table and the targets, between its `<!-- bench:start -->` / `end` markers. */
function updateReadme(results, table, targetList) {
  const path = join(repo, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) {
    console.log(`README.md has no ${start} ... ${end} block; its table was not updated`);
    return;
  }
  const m = results.machine;
  const block = [
    start,
    `Latest \`npm run bench\` (${results.date.slice(0, 10)}${results.quick ? ', --quick' : ''}) on ${m.cpuModel}, ${m.cores} cores, ${m.chromium},`,
    `PyTorch ${results.pytorch?.torchVersion ?? '—'} on the same CPU. **Nx** = time / PyTorch's with ${results.pytorch?.measuresThreads ?? '?'} threads; GPU backends are on`,
    'SwiftShader (a CPU-emulated GPU), not a real GPU. Details, cold-start phases and profiles: [bench/RESULTS.md](bench/RESULTS.md).',
    '',
    markdownTable(table),
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...targetList.map((t) => `| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`),
    end,
  ].join('\n');
  writeFileSync(path, readme.slice(0, from) + block + readme.slice(to + end.length));
}

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
  if (!existsSync(join(distDir, 'index.html'))) throw new Error(`${distDir}/index.html is missing; run without --no-build`);
  const server = await startServer();
  if (args.has('keep-open')) {
    log(`serving ${server.url}index.html?backend=wasm&phase=steady (Ctrl-C to stop)`);
    return;
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: sudo apt-get install chromium`);

  const pytorch = runTorch(); // before the browser, so the two never share the 2 cores
  if (pytorch) {
    for (const [n, m] of Object.entries(pytorch.threads)) {
      log(`PyTorch ${pytorch.torchVersion}, ${n} thread(s): ${MEASURES.map((k) => `${k} ${fmtMs(m[k].median)}`).join(', ')}`);
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
    pack: { id: packJson.id, digest: pack.digest, files: pack.files, rawBytes: pack.rawBytes, gzipBytes: pack.gzipBytes, brotliBytes: pack.brotliBytes },
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
            Object.entries(pytorch.threads).map(([n, m]) => [n, Object.fromEntries(MEASURES.map((k) => [k, pick(m[k])]))]),
          ),
          readPackMs: round(pytorch.readPackMs),
        }
      : null,
    backends,
    failures,
  };
  writeReport(results);
}

function sortedTimes(table, limit = Infinity) {
  return Object.fromEntries(
    Object.entries(table)
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, limit)
      .map(([name, v]) => [name, { ms: round(v.ms), count: v.count }]),
  );
}

function pick(m) {
  return m ? { median: round(m.median), min: round(m.min), max: round(m.max), runs: m.runs } : null;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
