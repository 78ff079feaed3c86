// The onnxruntime-web peer: the SP generator exported to ONNX from the PyTorch reference (scripts/export_onnx.py,
// into bench/tmp/onnx, never committed), run by ORT-web in the same Chromium and the same worker as the engine on
// exactly the compare grid's inputs (bench/ort.ts), timed in rounds alternated with the engine's compare grid.
// Two graphs: "reference" (upsample then 3x3 conv, as pipeline/reference.py) and "engine" (the engine's sub-pixel
// phase convs, pads in the Conv nodes, skip conv before the upsampling). --no-ort leaves it out; --ort-webgpu adds
// ORT's WebGPU execution provider beside the engine's WebGPU backend; --ort-spin lets ORT's idle threads spin-wait.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PYTHON, args, log, packDir, quick, repo } from './options.mjs';
import { stats } from './stats.mjs';
import { fmtMs } from './tables.mjs';

export const ONNX_DIR = join(repo, 'bench', 'tmp', 'onnx');
const ORT_DIST = join(repo, 'node_modules', 'onnxruntime-web', 'dist');
export const ORT_GRAPHS = ['reference', 'engine'];
const GRAPH_LABEL = { reference: 'reference graph', engine: "engine's graph" };

export const ortEnabled = () => !args.has('no-ort');
let exported = null; // onnx.json of this run's export

/** Static routes of the bench server for the peer: ORT-web's scripts and .wasm, and the exported graphs. */
export function peerRoute(path) {
  if (path.startsWith('/ort/')) return [ORT_DIST, path.slice('/ort/'.length), 'no-cache'];
  if (path.startsWith('/onnx/')) return [ONNX_DIR, path.slice('/onnx/'.length), 'no-cache'];
  return null;
}

/** Exports the pack's generator graphs (a second or two of PyTorch); null, with the reason logged, if it fails. */
export function exportOnnx() {
  if (!ortEnabled()) return null;
  log(`ONNX export (${PYTHON} scripts/export_onnx.py -> bench/tmp/onnx) ...`);
  const result = spawnSync(PYTHON, ['scripts/export_onnx.py', '--pack-dir', packDir, '--out-dir', ONNX_DIR], {
    cwd: repo,
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (result.status !== 0) {
    log(`export_onnx.py failed (${result.status}): ${(result.stderr ?? String(result.error)).slice(-2000)}`);
    return null;
  }
  const manifest = JSON.parse(result.stdout);
  exported = manifest;
  log(
    `ONNX opset ${manifest.opset}: ${Object.entries(manifest.graphs)
      .map(([k, v]) => `${k} ${(v.bytes / 1e6).toFixed(1)} MB`)
      .join(', ')}`,
  );
  return manifest;
}

/** Which peer runs on which engine backend: the WASM EP beside WASM, the WebGPU EP beside WebGPU. */
const PEER_PLAN = {
  wasm: { ep: 'wasm', minRuns: quick ? 2 : 5, maxRuns: quick ? 3 : 20, budgetMs: quick ? 3000 : 20_000 },
  // SwiftShader: one round at most; opt-in (below).
  webgpu: { ep: 'webgpu', minRuns: 1, maxRuns: 1, budgetMs: 0 },
};

/** Why a peer is left out by default, recorded in results.json and RESULTS.md. */
const PEER_SKIPPED = {
  webgpu: args.has('ort-webgpu')
    ? null
    : "ORT-web's WebGPU EP on SwiftShader (headless Chromium, no GPU) had not finished its session creation, output " +
      'check and one compare grid after 8 minutes (2-core machine under load); --ort-webgpu runs it anyway',
};

/**
 * One page load per thread count (ORT reads ort.env.wasm.numThreads once per page), each reporting the engine's
 * and ORT's compare grids from the same alternated rounds. Errors are recorded, never thrown: the peer is optional.
 */
export async function benchOrt(loadPage, base, backend, threadCounts) {
  const plan = PEER_PLAN[backend];
  if (!exported || !plan) return undefined;
  if (PEER_SKIPPED[backend]) {
    log(`ORT-web ${plan.ep} skipped: ${PEER_SKIPPED[backend]}`);
    return { executionProvider: plan.ep, skipped: PEER_SKIPPED[backend], threads: {} };
  }
  const out = { executionProvider: plan.ep, threads: {} };
  for (const threads of threadCounts) {
    const query = new URLSearchParams({
      phase: 'ort',
      ortEp: plan.ep,
      ortGraphs: ORT_GRAPHS.join(','),
      wasmThreads: String(threads),
      minRuns: String(plan.minRuns),
      maxRuns: String(plan.maxRuns),
      budgetMs: String(plan.budgetMs),
      ortSpin: args.has('ort-spin') ? '1' : '0',
    });
    try {
      const report = (await loadPage(`${base}&${query}`)).events.find((e) => e.type === 'ort').report;
      const graphs = Object.fromEntries(
        Object.entries(report.graphs).map(([name, g]) => [
          name,
          {
            file: g.file,
            bytes: g.bytes,
            sessionMs: g.sessionMs,
            warmupMs: g.warmupMs,
            maxAbsDiff: g.maxAbsDiff,
            error: g.error,
            ...(g.runs.length ? { time: stats(g.runs), rawRuns: g.runs.map((r) => Math.round(r * 100) / 100) } : {}),
          },
        ]),
      );
      const engine = stats(report.engineRuns);
      const key = String(report.threads ?? threads);
      out.threads[key] = {
        ortVersion: report.ortVersion,
        allowSpinning: report.allowSpinning,
        crossOriginIsolated: report.crossOriginIsolated,
        opset: report.opset,
        batches: report.batches,
        engine,
        graphs,
        ratios: Object.fromEntries(
          Object.entries(graphs)
            .filter(([, g]) => g.time)
            .map(([name, g]) => [name, Math.round((1000 * engine.median) / g.time.median) / 1000]),
        ),
      };
      log(
        `ORT-web ${report.ortVersion} ${plan.ep}, ${key} thread(s), batches ${report.batches.join('+')}: engine ${fmtMs(engine.median)}; ${Object.entries(
          graphs,
        )
          .map(([name, g]) =>
            g.error
              ? `${name} failed: ${g.error}`
              : `${name} ${fmtMs(g.time?.median)} (engine/ORT ${out.threads[key].ratios[name]?.toFixed(2)}x, max |diff| ${g.maxAbsDiff?.toExponential(2)})`,
          )
          .join('; ')}`,
      );
    } catch (error) {
      out.threads[String(threads)] = { error: String(error?.message ?? error) };
      log(`ORT-web ${plan.ep} with ${threads} thread(s) failed: ${out.threads[String(threads)].error}`);
    }
  }
  return out;
}

/** The peer figures of a backend at the engine's own thread count (both graphs). */
function peerAt(results, backend) {
  const r = results.backends[backend];
  const ort = r?.ort;
  if (!ort) return null;
  const threads = String(r.wasm?.threads ?? Object.keys(ort.threads)[0]);
  return ort.threads[threads] ?? null;
}

/**
 * The summary table with one column per ORT graph: its compare grid (WASM EP beside WASM, WebGPU EP beside
 * WebGPU) and the ratio engine / ORT from the same alternated rounds. Appended to the rows of buildTable's table.
 */
export function withOrtColumns(table, results, compareLabel) {
  const backends = Object.keys(results.backends).filter((b) => peerAt(results, b));
  if (backends.length === 0) return table;
  const [head, ...rows] = table;
  const columns = backends.flatMap((b) => ORT_GRAPHS.map((graph) => ({ b, graph })));
  const cell = ({ b, graph }) => {
    const peer = peerAt(results, b);
    const g = peer.graphs?.[graph];
    if (!g?.time) return g?.error ? `failed: ${g.error.slice(0, 60)}` : '—';
    return `${fmtMs(g.time.median)} (n=${g.time.runs}) engine/ORT **${peer.ratios[graph].toFixed(2)}x**`;
  };
  return [
    [...head, ...columns.map(({ b, graph }) => `ORT-web ${PEER_PLAN[b].ep.toUpperCase()}, ${GRAPH_LABEL[graph]}`)],
    ...rows.map((row) => [...row, ...columns.map((c) => (row[0] === compareLabel ? cell(c) : '—'))]),
  ];
}

/** RESULTS.md (and README) section: every thread count, both graphs, the engine in the same rounds, the check. */
export function ortMarkdown(results) {
  const lines = [];
  for (const [backend, r] of Object.entries(results.backends)) {
    if (!r.ort) continue;
    const ep = r.ort.executionProvider;
    if (r.ort.skipped) {
      lines.push(
        `onnxruntime-web's ${ep} execution provider beside the engine's ${backend}: skipped. ${r.ort.skipped}.`,
        '',
      );
      continue;
    }
    lines.push(
      `## The compare grid against onnxruntime-web (${ep} execution provider, beside the engine's ${backend})`,
      '',
      'The SP generator exported from the PyTorch reference (scripts/export_onnx.py, opset 17; the VGG feature pass',
      "is not in the graphs: grids reuse an image's features) on the same pack weights, run by ORT-web in the same",
      "worker on the compare grid's own inputs (features, noise, classes, level gates, the engine's batches), in",
      "rounds alternated with the engine's compare grid. **engine/ORT** < 1 means the engine is faster. The reference",
      "graph upsamples before each 3x3 conv; the engine's graph has its sub-pixel phase convs (pads in the Conv nodes),",
      "the skip conv before the upsampling. Max |diff|: ORT output against the engine's float output, in [-1, 1].",
      '',
      '| threads | batches | engine compare grid | graph | ORT-web | engine/ORT | max abs diff | session create |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const [threads, t] of Object.entries(r.ort.threads)) {
      if (t.error) {
        lines.push(`| ${threads} | — | — | — | failed: ${t.error} | — | — | — |`);
        continue;
      }
      for (const [graph, g] of Object.entries(t.graphs)) {
        lines.push(
          `| ${threads} | ${t.batches.join(' + ')} | ${fmtMs(t.engine.median)} (n=${t.engine.runs}) | ${GRAPH_LABEL[graph] ?? graph} | ${
            g.time
              ? `${fmtMs(g.time.median)} (${fmtMs(g.time.min)}–${fmtMs(g.time.max)}, n=${g.time.runs})`
              : `failed: ${g.error}`
          } | ${t.ratios[graph] ? `**${t.ratios[graph].toFixed(2)}x**` : '—'} | ${g.maxAbsDiff?.toExponential(2) ?? '—'} | ${fmtMs(g.sessionMs)} |`,
        );
      }
    }
    const any = Object.values(r.ort.threads).find((t) => t.ortVersion);
    if (any) {
      lines.push(
        '',
        `onnxruntime-web ${any.ortVersion}; cross-origin isolated: ${any.crossOriginIsolated}; idle ORT threads ${any.allowSpinning !== false ? "spin-wait (ORT's default; --ort-spin)" : "park (no spin-waiting, so they leave the cores to the engine between rounds; --ort-spin for ORT's default)"}.`,
      );
    }
    lines.push('');
  }
  if (results.ortSkipped) lines.push(`onnxruntime-web peer: ${results.ortSkipped}`, '');
  return lines;
}

/**
 * The issue's target against the peer: the engine's compare grid at most as slow as ORT-web's best graph on the
 * same weights, batches and threads (the ratio from the same alternated rounds, so both saw the same load).
 */
export function ortTargets(results) {
  const peer = peerAt(results, 'wasm');
  const ratios = Object.entries(peer?.ratios ?? {});
  if (ratios.length === 0) return [];
  // The best graph is the fastest one for ORT, i.e. the largest engine/ORT ratio.
  const [graph, ratio] = ratios.reduce((best, entry) => (entry[1] > best[1] ? entry : best));
  return [
    {
      target: `WASM compare grid <= 1.0x ORT-web's best graph (same weights, batches, threads)`,
      value: `${ratio.toFixed(2)}x against the ${graph} graph (engine ${fmtMs(peer.engine.median)}, ORT ${fmtMs(peer.graphs[graph].time.median)}, ${peer.engine.runs} alternated rounds)`,
      met: ratio <= 1,
    },
  ];
}
