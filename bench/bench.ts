// The bench page: starts bench.worker.ts (the app's engine in a module worker) with the parameters of the URL and
// exposes what it reports as window.__bench for scripts/node/bench/main.mjs. Usable by hand too: open
// index.html?backend=wasm&phase=steady and watch the log.
import type { BackendRequest } from '../src/engine/protocol';
import { ortConfig } from './ortConfig';
import type { BenchConfig, BenchEvent, MeasureName, PageReport } from './types';

const params = new URLSearchParams(location.search);
const list = (name: string, fallback: string): string[] =>
  (params.get(name) ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const num = (name: string, fallback: number): number => {
  const value = Number(params.get(name));
  return params.has(name) && Number.isFinite(value) ? value : fallback;
};

const report: PageReport = {
  navigationStart: performance.timeOrigin,
  pageScriptAt: performance.timeOrigin + performance.now(),
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  userAgent: navigator.userAgent,
  hardwareConcurrency: navigator.hardwareConcurrency,
  events: [],
  finished: false,
};
(window as unknown as { __bench: PageReport }).__bench = report;

const config: BenchConfig = {
  backend: (params.get('backend') ?? 'wasm') as BackendRequest,
  phase:
    params.get('phase') === 'steady' || params.get('phase') === 'ort'
      ? (params.get('phase') as 'steady' | 'ort')
      : 'cold',
  packUrl: params.get('pack') ?? 'models/cifar10/pack.json',
  pageUrl: location.href,
  measures: list('measures', 'spGrid,compareGrid,lag,extract') as MeasureName[],
  minRuns: num('minRuns', 3),
  minRunsFor: Object.fromEntries(
    list('minRunsFor', '').map((pair) => {
      const [name, n] = pair.split(':');
      return [name, Number(n)];
    }),
  ) as Partial<Record<MeasureName, number>>,
  noWarmup: list('noWarmup', '') as MeasureName[],
  maxRuns: num('maxRuns', 20),
  budgetMs: num('budgetMs', 10_000),
  profileMeasures: list('profile', '') as MeasureName[],
  batchSweep: list('batchSweep', '')
    .map(Number)
    .filter((n) => n > 0),
  batchSweepRuns: num('batchSweepRuns', 3),
  ...(params.has('batchPixels') ? { batchPixels: num('batchPixels', 32 * 32 * 32) } : {}),
  noStore: params.get('noStore') === '1',
  ...(params.has('wasmThreads') ? { wasmThreads: num('wasmThreads', 0) } : {}),
  ...(params.get('phase') === 'ort' ? { ort: ortConfig(params, num) } : {}),
};

const log = document.getElementById('log');
const show = (text: string) => {
  if (log) log.textContent += `${text}\n`;
};

const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
worker.addEventListener('message', (event: MessageEvent<BenchEvent>) => {
  const message = event.data;
  report.events.push(message);
  if (message.type === 'progress') show(message.message);
  else if (message.type === 'error') show(`error: ${message.message}`);
  else show(message.type);
  if (message.type === 'done' || message.type === 'error') report.finished = true;
});
worker.addEventListener('error', (event) => {
  report.events.push({ type: 'error', message: `worker error: ${event.message}` });
  report.finished = true;
});
worker.postMessage(config);
