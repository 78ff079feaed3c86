// The result tables as rows of cells (measures by backend, cold-start phases) and the targets, with their
// Markdown and plain-text renderings.
import { BACKENDS, MEASURES, MEASURE_LABEL } from './options.mjs';

export const fmtMs = (v) =>
  v === null || v === undefined ? '—' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 1)} ms`;
export const fmtBytes = (b) => `${(b / 1e6).toFixed(2)} MB`;

export function buildTable(results) {
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
    if (key === 'warmStart')
      return `${fmtMs(r.warmStart.total.median)} (${fmtMs(r.warmStart.total.min)}–${fmtMs(r.warmStart.total.max)}, n=${r.warmStart.total.runs})`;
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
  rows.push([
    'final tf.memory()',
    ...dash,
    ...cols.map(
      (b) =>
        `${fmtBytes(results.backends[b].memory.final.numBytes)}, ${results.backends[b].memory.final.numTensors} tensors`,
    ),
  ]);
  return [head, ...rows];
}

export function backendLabel(b) {
  return { webgpu: 'WebGPU (SwiftShader)', webgl: 'WebGL (SwiftShader)', wasm: 'WASM', cpu: 'CPU (JS)' }[b];
}

export function markdownTable(table) {
  const [head, ...rows] = table;
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function textTable(table) {
  const plain = table.map((r) => r.map((c) => String(c).replace(/\*\*/g, '')));
  const widths = plain[0].map((_, i) => Math.max(...plain.map((r) => r[i].length)));
  return plain.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n');
}

export function coldBreakdownTable(results) {
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
    ...cols.flatMap((b) => [
      fmtMs(results.backends[b].coldStart.groups[k]),
      fmtMs(results.backends[b].warmStart.groups[k].median),
    ]),
  ]);
  rows.push([
    '**total: navigation to first grid**',
    ...cols.flatMap((b) => [
      `**${fmtMs(results.backends[b].coldStart.total)}**`,
      `**${fmtMs(results.backends[b].warmStart.total.median)}**`,
    ]),
  ]);
  return [head, ...rows];
}

export function targets(results) {
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
      out.push({
        target: '  (same, against PyTorch with 1 thread)',
        value: `${r1.toFixed(2)}x (vs ${fmtMs(one.median)})`,
        met: r1 <= 1.5,
      });
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
