// One thread of the WASM roofline micro-benchmark (roofline.ts): instantiates the kernels of bench/roofline/*.wat,
// runs each once on known start values (the driver checks the stored accumulators against JavaScript), warms each
// up until the optimizing compiler has taken over, then times one call of the named kernel per `go`.
import type { KernelReady, RooflineFromWorker, RooflineToWorker } from './rooflineTypes';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: RooflineFromWorker) => scope.postMessage(message);
type Kernel = (trips: number, mul: number, add: number) => void;
interface KernelExports {
  memory: WebAssembly.Memory;
  kernel: Kernel;
  madd_once?: (x: number, y: number, z: number) => number;
}
const kernels = new Map<string, Kernel>();
let constants = { mul: 0, add: 0 };

/** Calls of WARMUP_TRIPS until two in a row agree within 3% (V8 swaps in optimized code between calls). */
const WARMUP_TRIPS = 200_000;
const WARMUP_MAX_CALLS = 40;

function timeCall(kernel: Kernel, trips: number): number {
  const t0 = performance.now();
  kernel(trips, constants.mul, constants.add);
  return performance.now() - t0;
}

async function prepare(
  name: string,
  wasm: ArrayBuffer,
  message: Extract<RooflineToWorker, { type: 'load' }>,
): Promise<KernelReady> {
  const { instance } = await WebAssembly.instantiate(wasm, {});
  const exports = instance.exports as unknown as KernelExports;
  const accumulators = new Float32Array(exports.memory.buffer, 0, message.start.length);
  accumulators.set(message.start);
  exports.kernel(message.checkTrips, message.mul, message.add);
  const checked = Array.from(accumulators);
  const probe = exports.madd_once ? exports.madd_once(...message.probe) : null;
  let previous = timeCall(exports.kernel, WARMUP_TRIPS);
  let warmupCalls = 1;
  while (warmupCalls < WARMUP_MAX_CALLS) {
    const ms = timeCall(exports.kernel, WARMUP_TRIPS);
    warmupCalls++;
    if (Math.abs(ms - previous) <= 0.03 * previous) break;
    previous = ms;
  }
  const msPerTrip = timeCall(exports.kernel, 5 * WARMUP_TRIPS) / (5 * WARMUP_TRIPS);
  kernels.set(name, exports.kernel);
  return { checked, probe, warmupCalls, msPerTrip };
}

async function load(message: Extract<RooflineToWorker, { type: 'load' }>): Promise<void> {
  constants = { mul: message.mul, add: message.add };
  const ready: Record<string, KernelReady> = {};
  for (const [name, wasm] of Object.entries(message.kernels)) ready[name] = await prepare(name, wasm, message);
  post({ type: 'ready', kernels: ready });
}

scope.addEventListener('message', (event: MessageEvent<RooflineToWorker>) => {
  const message = event.data;
  if (message.type === 'load') {
    load(message).catch((error: unknown) =>
      post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
    );
  } else post({ type: 'done', ms: timeCall(kernels.get(message.kernel)!, message.trips) });
});
