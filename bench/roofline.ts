// The WASM roofline page: window.__roofline.run(request) starts `threads` workers (roofline.worker.ts), lets each
// check and warm up every kernel the browser accepts, then times rounds in which every worker runs one call of a
// kernel at once, the kernels taking turns. The driver (scripts/node/bench/roofline.mjs) turns the times into
// GFLOP/s and checks the results.
import type { KernelRun, RooflineFromWorker, RooflineRequest, RooflineRun, RooflineToWorker } from './rooflineTypes';

/** The next message of a worker (one request in flight per worker at a time). */
function reply(worker: Worker): Promise<RooflineFromWorker> {
  return new Promise((resolve) => {
    worker.addEventListener('message', (event: MessageEvent<RooflineFromWorker>) => resolve(event.data), {
      once: true,
    });
    worker.addEventListener('error', (event) => resolve({ type: 'error', message: event.message }), { once: true });
  });
}

/** Why the browser refuses a binary, or null if it accepts it. */
async function refusal(bytes: Uint8Array<ArrayBuffer>): Promise<string | null> {
  if (WebAssembly.validate(bytes)) return null;
  let error = 'WebAssembly.validate() refused the binary';
  await WebAssembly.compile(bytes).catch((e: unknown) => (error = e instanceof Error ? e.message : String(e)));
  return error;
}

async function run(request: RooflineRequest): Promise<RooflineRun> {
  const results: Record<string, KernelRun> = {};
  const accepted: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (const [name, wasm] of Object.entries(request.kernels)) {
    const bytes = new Uint8Array(wasm);
    const error = await refusal(bytes);
    if (error) results[name] = { valid: false, error };
    else accepted[name] = bytes;
  }
  const names = Object.keys(accepted);
  if (names.length === 0) return { kernels: results };
  const workers = Array.from(
    { length: request.threads },
    () => new Worker(new URL('./roofline.worker.ts', import.meta.url), { type: 'module' }),
  );
  try {
    const send = (worker: Worker, message: RooflineToWorker) => worker.postMessage(message);
    const answers = await Promise.all(
      workers.map((worker) => {
        const answer = reply(worker);
        const kernels = Object.fromEntries(names.map((name) => [name, accepted[name].slice().buffer]));
        send(worker, { type: 'load', kernels, ...pick(request) });
        return answer;
      }),
    );
    const failed = answers.find((a) => a.type === 'error');
    if (failed?.type === 'error') return { error: failed.message };
    const ready = answers.flatMap((a) => (a.type === 'ready' ? [a.kernels] : []));
    for (const name of names) {
      const msPerTrip = Math.min(...ready.map((r) => r[name].msPerTrip));
      results[name] = {
        valid: true,
        checked: ready.map((r) => r[name].checked),
        probe: ready.map((r) => r[name].probe),
        warmupCalls: ready.map((r) => r[name].warmupCalls),
        trips: Math.max(1, Math.round(request.targetMs / msPerTrip)),
        rounds: [],
      };
    }
    for (let r = 0; r < request.rounds; r++) {
      for (const name of r % 2 ? [...names].reverse() : names) {
        const t0 = performance.now();
        const done = await Promise.all(
          workers.map((worker) => {
            const answer = reply(worker);
            send(worker, { type: 'go', kernel: name, trips: results[name].trips! });
            return answer;
          }),
        );
        const wallMs = performance.now() - t0;
        results[name].rounds!.push({ wallMs, threadMs: done.map((d) => (d.type === 'done' ? d.ms : NaN)) });
      }
    }
    return { kernels: results };
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

function pick({ start, checkTrips, mul, add, probe }: RooflineRequest) {
  return { start, checkTrips, mul, add, probe };
}

(window as unknown as { __roofline: { run: typeof run } }).__roofline = { run };
