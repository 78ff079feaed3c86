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
import { startWasm, wasmDetail, type WasmOptions } from './wasmBackend';

export type { WasmOptions } from './wasmBackend';

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
