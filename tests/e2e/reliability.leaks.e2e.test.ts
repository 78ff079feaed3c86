// Reliability, leaks, end to end: 1,000 generations in the real engine worker of the built app (Chromium, WASM
// backend), across the seven levels, compare-style multi-level requests and LAG, sent straight to the worker the
// app started (as its EngineClient would) so that the run takes seconds, not the minutes of 1,000 UI round trips.
// TF.js's tensor count and byte count (the worker's `memory` answer) must be flat after warm-up.
//   RELIABILITY_LEAK_ROUNDS=200   a shorter run
import { describe, expect, inject, it } from 'vitest';
import { waitForGrid } from './helpers/app';
import {
  expectNoPageErrors,
  shareReliabilityContext,
  openReady,
  type RelContext,
} from './reliability-fixtures/harness';

const baseUrl = inject('baseUrl');
const ROUNDS = Number(process.env.RELIABILITY_LEAK_ROUNDS ?? 1000);
const WARMUP = 30;
let rel: RelContext;

shareReliabilityContext((shared) => {
  rel = shared;
});

interface Sample {
  round: number;
  numTensors: number;
  numBytes: number;
}

describe('reliability: leaks', () => {
  it(`${ROUNDS} generations across levels and modes: tensor count and bytes flat`, async ({ annotate }) => {
    const { app } = await openReady(rel, baseUrl);
    const started = Date.now();
    const result = await app.page.evaluate(
      async ({ rounds, warmup }) => {
        const rel = (window as unknown as { __rel: { workers: Worker[]; lastFeatures: string | null } }).__rel;
        const worker = rel.workers[rel.workers.length - 1];
        const featuresId = rel.lastFeatures;
        if (!featuresId) throw new Error('no features were extracted');
        let requestId = 1_000_000;
        const call = (message: Record<string, unknown>, answer: string) =>
          new Promise<Record<string, unknown>>((resolve, reject) => {
            const id = requestId++;
            const onMessage = (event: MessageEvent) => {
              const data = event.data as Record<string, unknown>;
              if (data.requestId !== id) return;
              if (data.type === answer) {
                worker.removeEventListener('message', onMessage);
                resolve(data);
              } else if (data.type === 'error') {
                worker.removeEventListener('message', onMessage);
                reject(new Error(`${String(data.code)}: ${String(data.message)}`));
              }
            };
            worker.addEventListener('message', onMessage);
            worker.postMessage({ ...message, requestId: id });
          });
        const image = {
          width: 32,
          height: 32,
          data: new Uint8ClampedArray(32 * 32 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256)),
        };
        const memory = async (round: number) => {
          const m = await call({ type: 'memory' }, 'memory');
          return { round, numTensors: m.numTensors as number, numBytes: m.numBytes as number };
        };
        const samples = [];
        const kinds = { single: 0, compare: 0, lag: 0 };
        for (let round = 0; round < rounds; round++) {
          if (round === warmup || (round > warmup && round % 100 === 0)) samples.push(await memory(round));
          if (round % 10 === 9) {
            kinds.lag++;
            await call(
              { type: 'lag', image, candidates: 1 + (round % 3), seed: round, amplitude: (round % 5) / 4 },
              'lagResult',
            );
          } else if (round % 25 === 0) {
            kinds.compare++;
            await call(
              {
                type: 'generate',
                featuresId,
                levels: [0, 1, 2, 3, 4, 5, 6],
                samples: 1,
                seed: round,
                classIndex: round % 10,
              },
              'generated',
            );
          } else {
            kinds.single++;
            await call(
              {
                type: 'generate',
                featuresId,
                levels: [round % 7],
                samples: 1 + (round % 2),
                seed: round,
                classIndex: round % 10,
              },
              'generated',
            );
          }
        }
        samples.push(await memory(rounds));
        return { samples, kinds };
      },
      { rounds: ROUNDS, warmup: WARMUP },
    );
    const seconds = (Date.now() - started) / 1000;
    const first: Sample = result.samples[0];
    const last: Sample = result.samples[result.samples.length - 1];
    const tensorDrift = Math.max(...result.samples.map((s: Sample) => Math.abs(s.numTensors - first.numTensors)));
    const byteDrift = Math.max(...result.samples.map((s: Sample) => Math.abs(s.numBytes - first.numBytes)));
    expect(
      tensorDrift,
      `tensor counts ${result.samples.map((s: Sample) => `${s.round}:${s.numTensors}`).join(' ')}`,
    ).toBe(0);
    expect(byteDrift, `byte counts ${result.samples.map((s: Sample) => `${s.round}:${s.numBytes}`).join(' ')}`).toBe(0);
    // The app still works afterwards.
    await app.page.getByTestId('level-5').click();
    await waitForGrid(app, { container: 'sample-grid', levels: [5], samples: 6, timeout: 30_000 });
    expectNoPageErrors(app);
    await annotate(
      `${ROUNDS} rounds (${result.kinds.single} single-level, ${result.kinds.compare} seven-level, ${result.kinds.lag} LAG) in ${seconds.toFixed(1)} s; ` +
        `tensors ${first.numTensors}→${last.numTensors}, bytes ${first.numBytes}→${last.numBytes} (wasm backend: no GPU bytes here)`,
    );
  });
});
