// Statistics of the runs (median, min, max) and the ratios to PyTorch.
import { MEASURES, TORCH_THREADS } from './options.mjs';

export function stats(values) {
  if (!values || values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median: round(median), min: round(sorted[0]), max: round(sorted.at(-1)), runs: sorted.length };
}
export const round = (v, digits = 2) => (v === null || v === undefined ? v : Number(v.toFixed(digits)));

export function sortedTimes(table, limit = Infinity) {
  return Object.fromEntries(
    Object.entries(table)
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, limit)
      .map(([name, v]) => [name, { ms: round(v.ms), count: v.count }]),
  );
}

export function pick(m) {
  return m ? { median: round(m.median), min: round(m.min), max: round(m.max), runs: m.runs } : null;
}

/** PyTorch with every core is the baseline of the ratios; PyTorch's own default thread count is shown too. */
export function addRatios(results) {
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
