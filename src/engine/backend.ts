// Choosing and starting the TF.js backend.
//
// Automatic order: webgpu, webgl, wasm, cpu. A GPU backend on a *software* adapter (SwiftShader, llvmpipe, ...)
// is skipped in automatic mode, because there WASM is much faster: a 3x3 conv on 8x32x32x64 measured
// WASM 24 ms, WebGL-on-SwiftShader 517 ms, WebGPU-on-SwiftShader 977 ms. A forced backend (?backend=...) is used
// even on a software adapter; if it cannot start at all, the next one in the order is used and reported.
//
// Device loss (WebGPU `device.lost`, WebGL `webglcontextlost`) is reported through `onLost`; the engine then
// activates the next backend and re-uploads its weights.
import * as tf from '@tensorflow/tfjs-core';
import { describeError } from './errors';
import type { BackendName, BackendRequest } from './protocol';

export const AUTO_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendInfo {
  backend: BackendName;
  /** What runs the math, e.g. "WebGPU on nvidia ampere" or "WASM, SIMD, 8 threads". */
  detail: string;
  /** The backend that was preferred but not used (requested, or first in the automatic order). */
  fellBackFrom?: BackendName;
  /** Why the preferred backend was not used. */
  reason?: string;
}

export type BackendLossHandler = (backend: BackendName, reason: string) => void;

export interface ActivateOptions {
  /** Backends not to try (e.g. one whose device was just lost). */
  exclude?: ReadonlySet<BackendName>;
  onLost?: BackendLossHandler;
  wasm?: WasmOptions;
}

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render driver|microsoft basic/i;

/** True for adapter/renderer descriptions of CPU-emulated GPUs. */
export function isSoftwareRenderer(description: string): boolean {
  return SOFTWARE_RENDERER.test(description);
}

interface Candidate {
  ok: boolean;
  software?: boolean;
  detail: string;
  /** Starts the backend (registers and selects it in TF.js). */
  start?: () => Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// WebGPU
// ---------------------------------------------------------------------------------------------------------------
interface MinimalAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  type?: string;
}
interface MinimalDevice {
  lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}
interface MinimalAdapter {
  info?: MinimalAdapterInfo;
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestAdapterInfo?: () => Promise<MinimalAdapterInfo>;
  requestDevice(descriptor?: unknown): Promise<MinimalDevice>;
}
interface MinimalGpu {
  requestAdapter(options?: unknown): Promise<MinimalAdapter | null>;
}

/** The GPUDevice the webgpu backend runs on, so tests can simulate loss by destroying it. */
export let activeWebGpuDevice: MinimalDevice | null = null;
let deliberateWebGpuTeardown = false;
/** The running webgpu backend's `device.lost`, as a reason; kept after the loss so a late check still sees it. */
let webGpuLost: Promise<string> | null = null;
/** The running webgl backend's context (TF.js's own), to ask `isContextLost()`. */
let activeGl: { isContextLost(): boolean } | null = null;

async function probeWebGpu(onLost?: BackendLossHandler): Promise<Candidate> {
  const gpu = (globalThis.navigator as { gpu?: MinimalGpu } | undefined)?.gpu;
  if (!gpu) return { ok: false, detail: 'WebGPU is not available in this browser' };
  let adapter: MinimalAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { ok: false, detail: `WebGPU adapter request failed: ${describeError(error)}` };
  }
  if (!adapter) return { ok: false, detail: 'WebGPU has no adapter' };
  const info: MinimalAdapterInfo = adapter.info ?? (await adapter.requestAdapterInfo?.().catch(() => undefined)) ?? {};
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const software =
    adapter.isFallbackAdapter === true ||
    info.isFallbackAdapter === true ||
    /cpu/i.test(info.type ?? '') ||
    isSoftwareRenderer(description);
  const detail = `WebGPU on ${description || 'an unnamed adapter'}${software ? ' (software)' : ''}`;
  const chosenAdapter = adapter;
  return {
    ok: true,
    software,
    detail,
    start: async () => {
      // The same device requirements as @tensorflow/tfjs-backend-webgpu's own factory, but on our adapter, so we
      // know what it is and can watch for device loss.
      const limits = chosenAdapter.limits;
      const requiredFeatures = ['timestamp-query', 'bgra8unorm-storage'].filter((f) => chosenAdapter.features.has(f));
      const device = await chosenAdapter.requestDevice({
        requiredFeatures,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        },
      });
      const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
      if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      tf.registerBackend('webgpu', () => new WebGPUBackend(device as any, info as any), 3);
      if (!(await tf.setBackend('webgpu'))) throw new Error('the TF.js webgpu backend did not initialize');
      activeWebGpuDevice = device;
      deliberateWebGpuTeardown = false;
      const lostReason = device.lost.then((lost) =>
        `WebGPU device lost (${lost.reason ?? 'unknown'}): ${lost.message ?? ''}`.trim(),
      );
      webGpuLost = lostReason;
      void lostReason.then((reason) => {
        if (activeWebGpuDevice === device) activeWebGpuDevice = null;
        if (!deliberateWebGpuTeardown) onLost?.('webgpu', reason);
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// WebGL
// ---------------------------------------------------------------------------------------------------------------
function createProbeCanvas(): HTMLCanvasElement | OffscreenCanvas | null {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(1, 1);
  if (typeof document !== 'undefined') return document.createElement('canvas');
  return null;
}

function probeWebGl(onLost?: BackendLossHandler): Candidate {
  const canvas = createProbeCanvas();
  if (!canvas) return { ok: false, detail: 'WebGL needs a canvas (none in this environment)' };
  const gl = canvas.getContext('webgl2') as WebGL2RenderingContext | null;
  if (!gl) return { ok: false, detail: 'WebGL 2 is not available' };
  const debugInfo = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(
    (debugInfo && gl.getParameter(debugInfo.UNMASKED_RENDERER_WEBGL)) ||
      gl.getParameter(gl.RENDERER) ||
      'unknown renderer',
  );
  gl.getExtension('WEBGL_lose_context')?.loseContext(); // free the probe context; TF.js makes its own
  const software = isSoftwareRenderer(renderer);
  return {
    ok: true,
    software,
    detail: `WebGL 2 on ${renderer}${software ? ' (software)' : ''}`,
    start: async () => {
      await import('@tensorflow/tfjs-backend-webgl');
      if (!(await tf.setBackend('webgl'))) throw new Error('the TF.js webgl backend did not initialize');
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const gl = (tf.backend() as any)?.gpgpu?.gl as (WebGL2RenderingContext & { canvas: EventTarget }) | undefined;
      activeGl = gl ?? null;
      const backend = tf.backend();
      gl?.canvas?.addEventListener(
        'webglcontextlost',
        () => {
          settleWebGlReads(backend);
          onLost?.('webgl', 'WebGL context lost');
        },
        { once: true },
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// WASM and CPU
// ---------------------------------------------------------------------------------------------------------------
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
// (not a blob:, as an earlier fix used) is also what the CSP's script-src 'self' lets the threads load, since the
// engine worker gets the policy as a header and its blob: helper threads inherit it. Everything else (the .wasm,
// the pthread worker script, a blob: under worker-src) is as tfjs makes it. If the threaded module still does not
// start (a helper-thread error, or no start within WASM_THREAD_START_TIMEOUT_MS, or a first threaded convolution
// that does not finish), the wasm backend is registered again without threads and `detail` says why.

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

async function startWasm(options: WasmOptions): Promise<void> {
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

async function wasmDetail(): Promise<string> {
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const threads = wasm.getThreadsCount();
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  let note = '';
  if (wasmThreadNote) note = ` (${wasmThreadNote})`;
  else if (threads === 1 && !isolated && !isNode) note = ' (page not cross-origin isolated)';
  return `WASM${simd ? ' with SIMD' : ' without SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}${note}`;
}

async function probe(
  name: BackendName,
  onLost?: BackendLossHandler,
  wasmOptions: WasmOptions = {},
): Promise<Candidate> {
  switch (name) {
    case 'webgpu':
      return probeWebGpu(onLost);
    case 'webgl':
      return probeWebGl(onLost);
    case 'wasm':
      return { ok: typeof WebAssembly !== 'undefined', detail: 'WASM', start: () => startWasm(wasmOptions) };
    case 'cpu':
      return {
        ok: true,
        detail: 'CPU (plain JavaScript)',
        start: async () => {
          await import('@tensorflow/tfjs-backend-cpu');
          if (!(await tf.setBackend('cpu'))) throw new Error('the TF.js cpu backend did not initialize');
        },
      };
  }
}

/**
 * Starts the requested backend, or the best available one for 'auto', and says which one runs and why.
 * Always ends on some backend: cpu is the last resort.
 */
export async function activateBackend(request: BackendRequest, options: ActivateOptions = {}): Promise<BackendInfo> {
  const exclude = options.exclude ?? new Set<BackendName>();
  const forced = request === 'auto' ? null : request;
  const order = (forced ? [forced, ...AUTO_ORDER.filter((b) => b !== forced)] : [...AUTO_ORDER]).filter(
    (b) => !exclude.has(b),
  );
  if (order.length === 0) order.push('cpu');
  const preferred = forced ?? AUTO_ORDER.find((b) => !exclude.has(b)) ?? 'cpu';
  const notes: string[] = [];
  for (const name of order) {
    const candidate = await probe(name, options.onLost, options.wasm);
    if (!candidate.ok || !candidate.start) {
      notes.push(`${name}: ${candidate.detail}`);
      continue;
    }
    if (candidate.software && !forced) {
      notes.push(`${name}: ${candidate.detail}; WASM is faster than a software GPU`);
      continue;
    }
    try {
      await candidate.start();
    } catch (error) {
      notes.push(`${name}: ${describeError(error)}`);
      continue;
    }
    const detail = name === 'wasm' ? await wasmDetail() : candidate.detail;
    return name === preferred
      ? { backend: name, detail }
      : { backend: name, detail, fellBackFrom: preferred, reason: notes.join('; ') };
  }
  throw new Error(`no TF.js backend could start: ${notes.join('; ')}`);
}

/**
 * TF.js waits for a WebGL read by polling its fence every few ms until it passes, which on a lost context is never:
 * the read would hang and the poll spin forever. Settling the polls lets those reads finish (with meaningless
 * values, which the engine discards since the context reads as lost) and their tensors be disposed.
 */
function settleWebGlReads(backend: unknown): void {
  const gpgpu = (backend as { gpgpu?: { itemsToPoll?: { resolveFn: () => void }[] } } | null)?.gpgpu;
  const pending = gpgpu?.itemsToPoll;
  if (!gpgpu || !Array.isArray(pending)) return;
  gpgpu.itemsToPoll = [];
  for (const item of pending) item.resolveFn();
}

/**
 * Whether the running `name` backend has lost its device: the reason, or null (always null for wasm and cpu).
 * An operation on a lost device fails before the loss is announced: in Chromium a pending `mapAsync` rejects
 * ("Buffer was unmapped before mapping was resolved") and `device.lost` resolves later, and `webglcontextlost` is
 * an event dispatched after the context already reads as lost. So after a failure the engine asks here, and
 * `waitMs` bounds how long a WebGPU loss may take to be announced (WebGL's flag is synchronous).
 */
export async function backendLossReason(name: BackendName, waitMs: number): Promise<string | null> {
  if (name === 'webgl') {
    if (!activeGl?.isContextLost()) return null;
    if (tf.findBackend('webgl')) settleWebGlReads(tf.findBackend('webgl'));
    return 'WebGL context lost';
  }
  if (name !== 'webgpu' || !webGpuLost) return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const notLost = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), waitMs);
  });
  return Promise.race([webGpuLost, notLost]).finally(() => clearTimeout(timer));
}

/** Frees a GPU backend after its device was lost. CPU and WASM stay registered (they cannot be lost). */
export function releaseBackend(name: BackendName): void {
  if (name !== 'webgpu' && name !== 'webgl') return;
  if (name === 'webgpu') {
    deliberateWebGpuTeardown = true;
    activeWebGpuDevice = null;
    webGpuLost = null;
  } else {
    activeGl = null;
  }
  try {
    if (tf.findBackend(name)) tf.removeBackend(name);
  } catch {
    /* a lost device can fail to free its resources; nothing else to do */
  }
}
