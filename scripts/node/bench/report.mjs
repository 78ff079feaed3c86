// Writing the results: bench/results.json, bench/RESULTS.md (tables, cold-start phases, targets, where the WASM
// time goes), the table on the console, and the README's copy of the summary between its bench markers.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKENDS, MEASURES, MEASURE_LABEL, outDir, repo } from './options.mjs';
import { ortMarkdown, ortTargets, withOrtColumns } from './ort.mjs';
import { readmeLines, rooflineSections, sizeTargets } from './rooflineReport.mjs';
import { addRatios } from './stats.mjs';
import {
  backendLabel,
  buildTable,
  coldBreakdownTable,
  fmtBytes,
  fmtMs,
  markdownTable,
  targets,
  textTable,
} from './tables.mjs';

/** FLOPs (multiply-adds x 2) of a FusedConv2D / _FusedMatMul entry keyed "Kernel [in] x [filter]". */
function flopsOf(key) {
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
        const flops = flopsOf(k);
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
        ([k, v]) =>
          `| ${k} | ${fmtMs(v.median)} (${fmtMs(v.min)}–${fmtMs(v.max)}, n=${v.runs}) | ${v.peakBytes ? fmtBytes(v.peakBytes) : '—'} |`,
      ),
      '',
    );
  }
  const t = wasm.threadsExperiment;
  if (t) {
    lines.push(
      `### WASM threads (engine default: ${wasm.wasm.threads} thread(s), min(cores, 4) when cross-origin isolated)`,
      '',
    );
    if (t.error) lines.push(`Starting WASM with ${t.threads} threads failed: ${t.error}`, '');
    else {
      lines.push(
        `The same measures with ${t.requested} thread(s) requested (\`?wasmThreads=${t.requested}\`); TF.js's getThreadsCount() then reports ${t.threads} (${t.detail}).`,
        '',
        `| measure | ${wasm.wasm.threads} thread(s) (engine default) | ${t.requested} thread(s) requested | engine default vs requested |`,
        '|---|---|---|---|',
        ...MEASURES.filter((k) => t.measures[k]).map(
          (k) =>
            `| ${MEASURE_LABEL[k]} | ${fmtMs(wasm.measures[k].median)} | ${fmtMs(t.measures[k].median)} (n=${t.measures[k].runs}) | ${(t.measures[k].median / wasm.measures[k].median).toFixed(2)}x faster |`,
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
    wasm
      ? `Whole cold page load on the wire (bench page, JS, WASM, pack): ${fmtBytes(wasm.coldStart.wire.totalBytes)}.`
      : '',
    '',
    ...ortMarkdown(results),
    ...whereTimeGoes(results),
    ...rooflineSections(results),
    'Raw numbers, run counts, per-kernel profiles and the batch-size sweep: [results.json](results.json).',
    '',
  ];
  return lines.join('\n');
}

export function writeReport(results) {
  addRatios(results);
  const table = withOrtColumns(buildTable(results), results, MEASURE_LABEL.compareGrid);
  const breakdown = coldBreakdownTable(results);
  const targetList = [...targets(results), ...ortTargets(results), ...sizeTargets(results)];
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
    ...readmeLines(results),
    end,
  ].join('\n');
  writeFileSync(path, readme.slice(0, from) + block + readme.slice(to + end.length));
}
