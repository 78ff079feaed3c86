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
      void device.lost.then((lost) => {
        if (activeWebGpuDevice === device) activeWebGpuDevice = null;
        if (!deliberateWebGpuTeardown) onLost?.('webgpu', `WebGPU device lost (${lost.reason ?? 'unknown'}): ${lost.message ?? ''}`.trim());
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
    (debugInfo && gl.getParameter(debugInfo.UNMASKED_RENDERER_WEBGL)) || gl.getParameter(gl.RENDERER) || 'unknown renderer',
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
      const glCanvas = (tf.backend() as any)?.gpgpu?.gl?.canvas as EventTarget | undefined;
      glCanvas?.addEventListener('webglcontextlost', () => onLost?.('webgl', 'WebGL context lost'), { once: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// WASM and CPU
// ---------------------------------------------------------------------------------------------------------------
let wasmPathsSet = false;
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function startWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!wasmPathsSet && !isNode) {
    // Vite serves these files and rewrites the URLs for the build (base './' included).
    const [plain, simd, threadedSimd] = await Promise.all([
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'),
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'),
      import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'),
    ]);
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': plain.default,
      'tfjs-backend-wasm-simd.wasm': simd.default,
      'tfjs-backend-wasm-threaded-simd.wasm': threadedSimd.default,
    });
  }
  wasmPathsSet = true;
  // Threads are off for now: in a Vite build the threaded WASM module's pthread workers (blob: workers made from
  // an inlined script) fail with "ReferenceError: e is not defined" on a cross-origin isolated page, and the
  // failure is asynchronous and fatal. Measured in headless Chromium; SIMD single-threaded works.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend did not initialize');
}

async function wasmDetail(): Promise<string> {
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const threads = wasm.getThreadsCount();
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return `WASM${simd ? ' with SIMD' : ' without SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}` +
    (isolated || threads > 1 ? '' : ' (page not cross-origin isolated)');
}

async function probe(name: BackendName, onLost?: BackendLossHandler): Promise<Candidate> {
  switch (name) {
    case 'webgpu':
      return probeWebGpu(onLost);
    case 'webgl':
      return probeWebGl(onLost);
    case 'wasm':
      return { ok: typeof WebAssembly !== 'undefined', detail: 'WASM', start: startWasm };
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
  const order = (forced ? [forced, ...AUTO_ORDER.filter((b) => b !== forced)] : [...AUTO_ORDER]).filter((b) => !exclude.has(b));
  if (order.length === 0) order.push('cpu');
  const preferred = forced ?? AUTO_ORDER.find((b) => !exclude.has(b)) ?? 'cpu';
  const notes: string[] = [];
  for (const name of order) {
    const candidate = await probe(name, options.onLost);
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
    return name === preferred ? { backend: name, detail } : { backend: name, detail, fellBackFrom: preferred, reason: notes.join('; ') };
  }
  throw new Error(`no TF.js backend could start: ${notes.join('; ')}`);
}

/** Frees a GPU backend after its device was lost. CPU and WASM stay registered (they cannot be lost). */
export function releaseBackend(name: BackendName): void {
  if (name !== 'webgpu' && name !== 'webgl') return;
  if (name === 'webgpu') {
    deliberateWebGpuTeardown = true;
    activeWebGpuDevice = null;
  }
  try {
    if (tf.findBackend(name)) tf.removeBackend(name);
  } catch {
    /* a lost device can fail to free its resources; nothing else to do */
  }
}
