// The roofline, conv-share and image-size parts of bench/RESULTS.md, their targets and the README's line about
// them, from results.roofline (roofline.mjs), the WASM compare-grid profile and results.sizes (sizes.mjs).
import { convFlops, isConvKernel, rooflineShare, widthProposal } from './flops.mjs';
import { FMA_WORTH, KERNELS, THREADS } from './roofline.mjs';
import { COMPARE_SAMPLES, TARGET_64_MS } from './sizes.mjs';
import { fmtBytes, fmtMs } from './tables.mjs';

const gf = (v) => (v === null || v === undefined ? '—' : `${v.toFixed(1)} GFLOP/s`);
const mflop = (v) => `${(v / 1e6).toFixed(v < 1e7 ? 2 : 0)} MFLOP`;

/** The roofline the engine's WASM runs are held to: the figure for its thread count (2 on this machine). */
export function rooflineFor(results) {
  const roofline = results.roofline;
  const threads = results.backends?.wasm?.wasm?.threads ?? 2;
  const key = THREADS.includes(threads) ? threads : Math.max(...THREADS);
  return { threads: key, gflops: roofline?.gflops?.[key] ?? null };
}

function rooflineLines(results) {
  const r = results.roofline;
  if (!r) return [];
  if (r.error) return ['## WASM roofline', '', `The micro-benchmark failed: ${r.error}`, ''];
  const row = (name) => {
    const k = r.kernels[name];
    const cells = THREADS.map((t) => {
      const x = k.threads[t];
      if (!x) return '—';
      if (!x.gflops) return `failed: ${x.error}`;
      return `**${gf(x.gflops.best)}** (median ${x.gflops.median}, n=${x.gflops.rounds})`;
    });
    return `| ${k.label} | ${cells.join(' | ')} |`;
  };
  const fma = r.relaxedSimd;
  return [
    '## WASM roofline (register-blocked multiply-add, this Chromium, this machine)',
    '',
    'The best float32 throughput WASM SIMD128 reaches here: 12 independent f32x4 accumulators in registers,',
    '`acc = acc * m + c`, no memory traffic in the loop ([bench/roofline/](roofline/), assembled by wabt at bench',
    'time). Best of short rounds (the round that had the cores to itself); 2 threads = two workers at once, FLOPs of',
    "both over the round's wall time. Each kernel's stored accumulators were checked against JavaScript first.",
    '',
    `| kernel | ${THREADS.map((t) => `${t} thread${t > 1 ? 's' : ''}`).join(' | ')} |`,
    `|---|${THREADS.map(() => '---').join('|')}|`,
    ...Object.keys(KERNELS).map(row),
    `| FMA speed-up (median of adjacent rounds' ratios) | ${THREADS.map((t) => (r.fmaSpeedup[t] ? `${r.fmaSpeedup[t].toFixed(2)}x` : '—')).join(' | ')} |`,
    '',
    `- Relaxed SIMD in ${results.machine.chromium} without flags: ${fma ? (fma.accepted ? `accepted; relaxed_madd ran ${fma.fused ? 'fused (one rounding: a hardware FMA)' : 'as mul + add (two roundings)'}` : `refused (${fma.error})`) : 'not measured'}.`,
    `- **Relaxed-SIMD verdict**: ${r.verdict.text}. The rule: an own relaxed-SIMD conv kernel is tried only if FMA is >= ${FMA_WORTH}x on the machine that runs the bench.`,
    '',
  ];
}

/** Per conv layer of the WASM compare-grid profile: FLOPs from its shapes, GFLOP/s, share of the roofline. */
export function convShareRows(convs, rooflineGflops) {
  return Object.values(convs ?? {})
    .map((c) => {
      // Kernels with "conv" in their name that convFlops does not count (e.g. Conv2DBackpropInput) get no FLOPs.
      const flops = isConvKernel(c.kernel) ? convFlops(c) * c.count : null;
      const share = flops !== null && c.ms > 0 && rooflineGflops ? rooflineShare(flops, c.ms, rooflineGflops) : null;
      return { ...c, flops, gflops: share?.gflops ?? null, percent: share?.percent ?? null };
    })
    .sort((a, b) => b.ms - a.ms);
}

function convShareLines(results) {
  const profile = results.backends?.wasm?.profiles?.compareGrid;
  if (!results.roofline || !profile) return [];
  const { threads, gflops } = rooflineFor(results);
  if (!profile.convs) return [];
  const rows = convShareRows(profile.convs, gflops);
  const counted = rows.filter((r) => r.flops !== null);
  const total = counted.reduce((a, r) => ({ flops: a.flops + r.flops, ms: a.ms + r.ms }), { flops: 0, ms: 0 });
  const totalShare = gflops && total.ms > 0 ? rooflineShare(total.flops, total.ms, gflops) : null;
  return [
    `## Each conv's share of the roofline (WASM, one compare grid under tf.profile, ${threads} threads)`,
    '',
    `FLOPs = 2 * N * Ho * Wo * Co * Ci * kh * kw from each kernel's input, filter and output shapes; roofline = ${gf(gflops)} (${threads} thread(s), above).`,
    '',
    '| kernel | input x filter -> output | calls | time | FLOPs | GFLOP/s | % of roofline |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.kernel} | \`[${r.input}] x [${r.filter}] -> [${r.output}]\` | ${r.count} | ${fmtMs(r.ms)} | ${r.flops === null ? '—' : mflop(r.flops)} | ${gf(r.gflops)} | ${r.percent === null ? '—' : `${r.percent.toFixed(0)}%`} |`,
    ),
    `| **all counted convs** | | ${counted.reduce((a, r) => a + r.count, 0)} | ${fmtMs(total.ms)} | ${mflop(total.flops)} | ${gf(totalShare?.gflops)} | ${totalShare ? `${totalShare.percent.toFixed(0)}%` : '—'} |`,
    '',
  ];
}

/** The measured entries of results.sizes (sizes.mjs) at one image size: its default configuration's, or the proposed ones'. */
export function sizeEntries(results, imageSize, proposal) {
  return Object.values(results.sizes ?? {}).filter(
    (s) => typeof s === 'object' && s.imageSize === imageSize && Boolean(s.proposal) === proposal,
  );
}

/** The 64 px compare grid's FLOP bound on the roofline, and whether the 1 s target is possible at all. */
export function sizeBound(results) {
  const [s] = sizeEntries(results, 64, false);
  const { threads, gflops } = rooflineFor(results);
  if (!s?.flopsPerSample || !gflops) return null;
  const flops = s.flopsPerSample.engine * COMPARE_SAMPLES;
  const boundMs = flops / (gflops * 1e6);
  return { threads, gflops, flops, boundMs, possible: boundMs <= TARGET_64_MS };
}

function sizesLines(results) {
  const sizes = results.sizes;
  if (!sizes) return [];
  if (sizes.error) return ['## Cost against image size', '', `The experiment failed: ${sizes.error}`, ''];
  const { gflops } = rooflineFor(results);
  const lines = [
    '## Cost against image size (WASM, engine default threads, random-weight packs of the real configurations)',
    '',
    'scripts/pipeline/config.py cifar10, px64 and px128, and px64lite (a narrower 64 px generator proposed for the',
    'browser, not yet trained), exported with random weights by scripts/bench_size_packs.py (bench/size-packs/,',
    'not committed). FLOPs per sample: the SP generator with every level on, from the arch',
    '(scripts/node/bench/flops.mjs, spFlopsPerSample: the engine graph with the sub-pixel rewrite; the PyTorch',
    "reference graph's count in brackets). Bound = compare-grid FLOPs / roofline: the time if every FLOP ran at",
    "the roofline. Peak = tf.profile's peak bytes (weights included); the engine's batches hold 32 x 32 x 32 pixels.",
    '',
    '| size | config | SP channels | FLOPs / sample | compare grid (7 x 8) | bound at roofline | 16 samples | peak tf.memory() | threads |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of Object.values(sizes)) {
    const name = `${s.config}${s.proposal ? ' (proposed)' : ''}`;
    if (s.error) {
      lines.push(`| ${s.imageSize} px | ${name} | — | — | failed: ${s.error} | | | | |`);
      continue;
    }
    const c = s.measures.compareGrid;
    const g = s.measures.grid16;
    const bound = gflops ? fmtMs((s.flopsPerSample.engine * COMPARE_SAMPLES) / (gflops * 1e6)) : '—';
    lines.push(
      `| ${s.imageSize} px | ${name} | ${s.spArch.channels.join(', ')} | ${mflop(s.flopsPerSample.engine)} (${mflop(s.flopsPerSample.reference)}) | ${c ? `${fmtMs(c.median)} (n=${c.runs})` : '—'} | ${bound} | ${g ? `${fmtMs(g.median)} (n=${g.runs})` : '—'} | ${fmtBytes(s.memory.peakBytes)} | ${s.threads} |`,
    );
  }
  lines.push('');
  const [s64] = sizeEntries(results, 64, false);
  const b = sizeBound(results);
  if (b) {
    if (b.possible) {
      lines.push(
        `64 px: ${mflop(b.flops)} per compare grid is ${fmtMs(b.boundMs)} at the ${b.threads}-thread roofline (${gf(b.gflops)}), so the ${fmtMs(TARGET_64_MS)} target is possible with the px64 configuration as it is; what the engine loses above the bound is kernel efficiency and the work outside the convs.`,
        '',
      );
    } else {
      const p = widthProposal(s64.spArch, s64.levels, s64.imageSize, (TARGET_64_MS * b.gflops * 1e6) / COMPARE_SAMPLES);
      lines.push(
        `64 px: **the ${fmtMs(TARGET_64_MS)} target is impossible with the px64 configuration here**: ${mflop(b.flops)} per compare grid takes ${fmtMs(b.boundMs)} even at the ${b.threads}-thread roofline (${gf(b.gflops)}).`,
        p
          ? `Proposal (docs/training.md): SP channels ${JSON.stringify(p.channels)} instead of ${JSON.stringify(s64.spArch.channels)} (narrower at high resolution): ${mflop(p.flops)} per sample, bound ${fmtMs((p.flops * COMPARE_SAMPLES) / (b.gflops * 1e6))}. Its cost in quality is unknown until it is trained.`
          : 'No narrowing of the high-resolution stages fits the bound.',
        '',
      );
    }
  }
  for (const p of sizeEntries(results, 64, true)) {
    const c = p.measures?.compareGrid;
    if (!c || !s64?.spArch) continue;
    const within = c.median <= TARGET_64_MS;
    lines.push(
      `${p.config} (proposed): SP channels ${p.spArch.channels.join(', ')} instead of ${s64.config}'s ${s64.spArch.channels.join(', ')}, ${mflop(p.flopsPerSample.engine)} per sample (${(p.flopsPerSample.engine / s64.flopsPerSample.engine).toFixed(2)}x); its compare grid took ${fmtMs(c.median)}, ${within ? 'within' : 'over'} the ${fmtMs(TARGET_64_MS)} target. What the narrowing costs in image quality is unknown until it is trained and judged.`,
      '',
    );
  }
  return lines;
}

/** The sections for RESULTS.md. */
export function rooflineSections(results) {
  return [...rooflineLines(results), ...convShareLines(results), ...sizesLines(results)];
}

/** The targets of the image-size experiment, for the targets table. */
export function sizeTargets(results) {
  const b = sizeBound(results);
  const rows = [];
  for (const s of [...sizeEntries(results, 64, false), ...sizeEntries(results, 64, true)]) {
    const c = s.measures?.compareGrid;
    if (!c) continue;
    const bound = !s.proposal && b ? `, bound at the roofline ${fmtMs(b.boundMs)}` : '';
    rows.push({
      target: `64 px compare grid (7 x 8) <= ${fmtMs(TARGET_64_MS)} on WASM, ${s.threads} threads${s.proposal ? `, proposed ${s.config} (untrained)` : ''}`,
      value: `${fmtMs(c.median)} (n=${c.runs}; ${s.config}, ${mflop(s.flopsPerSample.engine * COMPARE_SAMPLES)}${bound})`,
      met: c.median <= TARGET_64_MS,
    });
  }
  return rows;
}

/** One line for the README's speed block. */
export function readmeLines(results) {
  const out = [];
  const r = results.roofline;
  if (r?.gflops) {
    out.push(
      `WASM roofline here: ${THREADS.map((t) => `${gf(r.gflops[t])} on ${t} thread${t > 1 ? 's' : ''}`).join(', ')}; relaxed-SIMD verdict: ${r.verdict.text}.`,
    );
  }
  const sizes = results.sizes;
  if (sizes) {
    const parts = Object.values(sizes)
      .filter((s) => s.measures?.compareGrid)
      .map(
        (s) =>
          `${s.imageSize} px${s.proposal ? ` (${s.config}, proposed)` : ''} ${fmtMs(s.measures.compareGrid.median)}`,
      );
    if (parts.length) out.push(`Compare grid (7 x 8) on WASM by image size, random weights: ${parts.join(', ')}.`);
  }
  return out.length ? ['', ...out] : [];
}
