// Starting TF.js's WASM backend, with threads when the page is cross-origin isolated.
//
// Threads. tfjs-backend-wasm starts the threaded module's helper threads (emscripten pthreads, 8 classic workers
// made from a blob of `tfjs-backend-wasm-threaded-simd.worker.js`) and hands each of them the module's factory as
// `mainScriptUrlOrBlob`: a Blob of `'var WasmBackendModuleThreadedSimd = ' + factory.toString()`. The stringified
// factory is only the inner function of emscripten's MODULARIZE wrapper; it refers to the wrapper's local
// `_scriptDir` behind a `typeof _scriptDir !== "undefined"` guard (tfjs#4528). A minifier (Vite's production build)
// renames the local and, because it *is* declared in scope, drops the `typeof` guard (`e!==void 0&&e`), so the
// stringified copy evaluated in a helper thread, outside that scope, throws "ReferenceError: e is not defined";
// the module then waits forever for its threads. Unminified (vite dev, Node) it happens to work.
//
// The fix: the pristine emscripten script (`wasm-out/tfjs-backend-wasm-threaded-simd.js`, emitted untouched by a
// `?url` import) is what the helper threads load: while the threaded backend starts, tfjs's assignment of that
// Blob to `mainScriptUrlOrBlob` stores the script's URL instead, so each thread runs `importScripts(<url>)`. A URL
// (rather than a blob:) is also what the CSP's script-src 'self' lets the threads load, since the
// engine worker gets the policy as a header and its blob: helper threads inherit it. Everything else (the .wasm,
// the pthread worker script, a blob: under worker-src) is as tfjs makes it. If the threaded module still does not
// start (a helper-thread error, or no start within WASM_THREAD_START_TIMEOUT_MS, or a first threaded convolution
// that does not finish), the wasm backend is registered again without threads and `detail` says why.
import * as tf from '@tensorflow/tfjs-core';
import { describeError } from './errors';

let wasmPathsSet = false;
let threadedScriptUrl: string | null = null;
const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const WASM_THREAD_START_TIMEOUT_MS = 15_000;
/** Most helper threads: the threaded module preallocates a pool of 8 pthreads; more would block on creation. */
export const MAX_WASM_THREADS = 8;

/** The default thread count: the cores the browser reports, at most 4 (beyond that XNNPACK gains little here). */
export function defaultWasmThreads(): number {
  const cores = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(4, Math.floor(cores)));
}

// Errors thrown by helper threads reach the engine worker's global `error` handler asynchronously. While a
// threaded start is in progress, and after a threaded module was abandoned, those (from blob: scripts) belong to
// this module: they are recorded as the reason for falling back instead of being reported as engine errors.
let threadStart: { fail: (reason: string) => void } | null = null;
let threadedModuleAbandoned = false;

/**
 * True for an uncaught error (worker global `error` / `unhandledrejection`) that comes from the WASM backend's
 * helper threads while they start or after they were abandoned; worker.ts then does not report it.
 */
export function claimUncaughtWasmThreadError(message: string, filename?: string): boolean {
  // Emscripten rethrows a helper thread's ErrorEvent from its `onerror`, which arrives as "[object ErrorEvent]".
  const fromHelperThread =
    (filename ?? '').startsWith('blob:') || /worker sent an error|\[object ErrorEvent\]/i.test(message);
  if (threadStart) {
    threadStart.fail(
      message && !/\[object /.test(message)
        ? `a helper thread failed: ${message}`
        : 'a helper thread failed with an uncaught error',
    );
    return true;
  }
  return threadedModuleAbandoned && fromHelperThread;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string, failure: Promise<never>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout, failure]).finally(() => clearTimeout(timer));
}

/**
 * Runs `start` with the threaded factory Blob replaced by the pristine emscripten script's URL, and with
 * `navigator.hardwareConcurrency` reading at least 2 x `threads`: the module caps its thread pool at
 * hardwareConcurrency / 2 (it assumes two hardware threads per core), which would otherwise ignore an explicit
 * thread count (a 2-core machine could never run 2 threads).
 */
async function withThreadedStartPatches<T>(
  scriptUrl: string,
  threads: number,
  workers: Worker[],
  start: () => Promise<T>,
): Promise<T> {
  const OriginalWorker = globalThis.Worker;
  const nav = globalThis.navigator as { hardwareConcurrency?: number } | undefined;
  const patchCores = !!nav && (nav.hardwareConcurrency ?? 1) < threads * 2;
  const absolute = new URL(scriptUrl, (globalThis as { location?: { href: string } }).location?.href).href;
  // tfjs assigns the factory Blob to `factoryConfig.mainScriptUrlOrBlob` (a plain object, emscripten's Module):
  // this setter stores the script's URL there instead. A helper thread then runs importScripts(<same-origin URL>),
  // which the CSP's script-src 'self' allows; importScripts(blob:...) it would refuse.
  const slot = 'mainScriptUrlOrBlob';
  Object.defineProperty(Object.prototype, slot, {
    configurable: true,
    set(this: object, value: unknown) {
      Object.defineProperty(this, slot, {
        value: value instanceof Blob ? absolute : value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    },
  });
  // The helper threads are recorded so that a failed start can terminate them.
  if (OriginalWorker) {
    globalThis.Worker = class RecordedWorker extends OriginalWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        workers.push(this);
      }
    };
  }
  if (patchCores) Object.defineProperty(nav, 'hardwareConcurrency', { value: threads * 2, configurable: true });
  try {
    return await start();
  } finally {
    delete (Object.prototype as Record<string, unknown>)[slot];
    if (OriginalWorker) globalThis.Worker = OriginalWorker;
    if (patchCores) delete nav.hardwareConcurrency; // the prototype's getter shows through again
  }
}

/** A small convolution big enough for XNNPACK to use its thread pool; resolves once it has run. */
async function exerciseWasm(): Promise<void> {
  const out = tf.tidy(() =>
    tf.conv2d(tf.ones([1, 16, 16, 16]) as tf.Tensor4D, tf.ones([3, 3, 16, 16]) as tf.Tensor4D, 1, 'same'),
  );
  try {
    await out.data();
  } finally {
    out.dispose();
  }
}

export interface WasmOptions {
  /** Threads for the WASM backend (1 = single-threaded); default `defaultWasmThreads()`. Needs cross-origin
   * isolation (SharedArrayBuffer); otherwise one thread is used. */
  threads?: number;
}

/** Why WASM runs on one thread although more were asked for; null when threads run (or one was asked for). */
let wasmThreadNote: string | null = null;

export async function startWasm(options: WasmOptions): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet && !isNode) {
    // Vite serves these files and rewrites the URLs for the build (base './' included). `?url` emits the
    // pristine script as an asset: neither bundled nor minified.
    const [plain, simd, threadedSimd, threadedScript] = await Promise.all([
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'),
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'),
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'),
      import('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?url'),
    ]);
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': plain.default,
      'tfjs-backend-wasm-simd.wasm': simd.default,
      'tfjs-backend-wasm-threaded-simd.wasm': threadedSimd.default,
    });
    threadedScriptUrl = threadedSimd.default ? threadedScript.default : null;
  }
  wasmPathsSet = true;
  wasmThreadNote = null;

  const requested = Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(options.threads ?? defaultWasmThreads())));
  // tfjs decides by this flag: SharedArrayBuffer transferable and WASM threads validate (false in Node, and on a
  // page that is not cross-origin isolated).
  const canThread =
    requested > 1 && !isNode && threadedScriptUrl !== null && (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  if (!canThread || !simd) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
    if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend did not initialize');
    return;
  }

  const factory = tf.findBackendFactory('wasm');
  wasm.setThreadsCount(requested);
  let fail!: (reason: string) => void;
  const failure = new Promise<never>((_, reject) => {
    fail = (reason) => reject(new Error(reason));
  });
  failure.catch(() => {}); // it may never be awaited
  threadStart = { fail };
  const helperThreads: Worker[] = [];
  try {
    await withThreadedStartPatches(threadedScriptUrl!, requested, helperThreads, async () => {
      const ok = await withTimeout(
        tf.setBackend('wasm'),
        WASM_THREAD_START_TIMEOUT_MS,
        'starting the threaded module',
        failure,
      );
      if (!ok) throw new Error('the threaded module did not initialize');
    });
    await withTimeout(exerciseWasm(), WASM_THREAD_START_TIMEOUT_MS, 'a first threaded convolution', failure);
    threadStart = null;
    return;
  } catch (error) {
    threadStart = null;
    threadedModuleAbandoned = true;
    wasmThreadNote = `threads failed to start: ${describeError(error)}`;
    for (const worker of helperThreads) worker.terminate();
  }
  // Fall back: forget the (possibly half-started) threaded backend and start the single-threaded SIMD module.
  try {
    if (tf.findBackend('wasm') || tf.findBackendFactory('wasm')) tf.removeBackend('wasm');
  } catch {
    /* a backend that never finished starting may fail to dispose */
  }
  if (!factory) throw new Error('the TF.js wasm backend is not registered');
  tf.registerBackend('wasm', factory, 2);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend did not initialize');
}

export async function wasmDetail(): Promise<string> {
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const threads = wasm.getThreadsCount();
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  let note = '';
  if (wasmThreadNote) note = ` (${wasmThreadNote})`;
  else if (threads === 1 && !isolated && !isNode) note = ' (page not cross-origin isolated)';
  return `WASM${simd ? ' with SIMD' : ' without SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}${note}`;
}
