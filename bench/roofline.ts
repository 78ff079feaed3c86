// The WASM roofline page: window.__roofline.run(request) starts `threads` workers (roofline.worker.ts) on one
// kernel, lets each check and warm it up, then times `rounds` rounds in which every worker runs one call at once.
// The driver (scripts/node/bench/roofline.mjs) turns the times into GFLOP/s and checks the results.
import type { RooflineFromWorker, RooflineRequest, RooflineRun, RooflineToWorker } from './rooflineTypes';

/** The next message of a worker (one request in flight per worker at a time). */
function reply(worker: Worker): Promise<RooflineFromWorker> {
  return new Promise((resolve) => {
    worker.addEventListener('message', (event: MessageEvent<RooflineFromWorker>) => resolve(event.data), {
      once: true,
    });
    worker.addEventListener('error', (event) => resolve({ type: 'error', message: event.message }), { once: true });
  });
}

async function run(request: RooflineRequest): Promise<RooflineRun> {
  const bytes = new Uint8Array(request.wasm);
  if (!WebAssembly.validate(bytes)) {
    let error = 'WebAssembly.validate() refused the binary';
    await WebAssembly.compile(bytes).catch((e: unknown) => (error = e instanceof Error ? e.message : String(e)));
    return { valid: false, error };
  }
  const workers = Array.from(
    { length: request.threads },
    () => new Worker(new URL('./roofline.worker.ts', import.meta.url), { type: 'module' }),
  );
  try {
    const send = (worker: Worker, message: RooflineToWorker) => worker.postMessage(message);
    const ready = await Promise.all(
      workers.map((worker) => {
        const answer = reply(worker);
        send(worker, {
          type: 'load',
          wasm: bytes.slice().buffer,
          start: request.start,
          checkTrips: request.checkTrips,
          mul: request.mul,
          add: request.add,
          probe: request.probe,
        });
        return answer;
      }),
    );
    const failed = ready.find((r) => r.type === 'error');
    if (failed?.type === 'error') return { valid: true, error: failed.message };
    const loaded = ready.filter((r) => r.type === 'ready');
    const msPerTrip = Math.min(...loaded.map((r) => r.msPerTrip));
    const trips = Math.max(1, Math.round(request.targetMs / msPerTrip));
    const rounds: { wallMs: number; threadMs: number[] }[] = [];
    for (let r = 0; r < request.rounds; r++) {
      const t0 = performance.now();
      const done = await Promise.all(
        workers.map((worker) => {
          const answer = reply(worker);
          send(worker, { type: 'go', trips });
          return answer;
        }),
      );
      const wallMs = performance.now() - t0;
      rounds.push({ wallMs, threadMs: done.map((d) => (d.type === 'done' ? d.ms : NaN)) });
    }
    return {
      valid: true,
      checked: loaded.map((r) => r.checked),
      probe: loaded.map((r) => r.probe),
      warmupCalls: loaded.map((r) => r.warmupCalls),
      trips,
      rounds,
    };
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

(window as unknown as { __roofline: { run: typeof run } }).__roofline = { run };
