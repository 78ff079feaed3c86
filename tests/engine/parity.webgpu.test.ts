// PyTorch parity on the TF.js webgpu backend, in Node through the `webgpu` package (Dawn) on SwiftShader.
//
// Tolerance: the fixtures' own 1e-4 (max abs diff), as on cpu. WGSL gives no bit-exact float guarantees (fused
// multiply-adds, tiled reduction order in convs/matmuls, approximate exp/tanh), so some difference is expected; on
// Dawn + SwiftShader it measured at most 1.4e-6 on the VGG features and 4e-6 on SP/LAG outputs of the cifar10 pack
// (the test prints them), well inside 1e-4. A real GPU driver may round differently; that is not what this test
// runs on, and keeping 1e-4 here means a shader-level regression in TF.js would be noticed.
//
// vite.config.ts runs this file in the 'webgpu' project, with LD_LIBRARY_PATH/VK_ICD_FILENAMES pointing at
// SwiftShader. If no adapter can be created, the tests fail with a message saying why (never skip silently).
import { create, globals } from 'webgpu';
import { describe, expect, it } from 'vitest';
import { activeWebGpuDevice } from '../../src/engine/backend';
import { defineParitySuite } from './helpers/paritySuite';

Object.assign(globalThis, globals);
const gpu = create([]);
(globalThis as { navigator?: unknown }).navigator ??= {};
Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });

describe('parity with PyTorch on the webgpu backend (Dawn + SwiftShader)', () => {
  it('gets a WebGPU adapter in Node', async () => {
    const adapter = await gpu.requestAdapter();
    expect(
      adapter,
      'no WebGPU adapter: is /usr/lib/chromium (libvulkan.so.1, vk_swiftshader_icd.json) present, and did the test ' +
        `run in the vitest 'webgpu' project? LD_LIBRARY_PATH=${process.env.LD_LIBRARY_PATH} ` +
        `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}`,
    ).toBeTruthy();
  });

  defineParitySuite({
    backend: 'webgpu',
    tolerance: (fixtureTolerance) => fixtureTolerance,
    report: true,
    // SwiftShader runs the shaders on the CPU: the tiny packs (32, 64 and 128 px) run every case, larger packs one
    // SP case (mixed levels with painted masks: every injection path) and one LAG case, to keep the suite short.
    selectCases: (fixture) =>
      fixture.name.startsWith('tiny')
        ? { sp: () => true, lag: () => true }
        : { sp: (name) => name.startsWith('mixed'), lag: (name) => name === 'amplitude1.0' },
    checkEngine: (engine) => {
      expect(engine.backend?.detail).toMatch(/swiftshader/i);
      expect(activeWebGpuDevice).not.toBeNull();
    },
  });
});

describe('WebGPU device loss', () => {
  it('falls back to the next backend, re-uploads the weights and keeps matching PyTorch', async () => {
    const { PyramidEngine } = await import('../../src/engine/engine');
    const { readFixture, REPO_ROOT, maxAbsDiff } = await import('./helpers/fixtures');
    const { startStaticServer } = await import('./helpers/staticServer');
    const server = await startStaticServer(REPO_ROOT);
    const changes: { backend: string; reason: string }[] = [];
    const engine = new PyramidEngine({ onBackendChanged: (backend, reason) => changes.push({ backend, reason }) });
    try {
      expect((await engine.init('webgpu')).backend).toBe('webgpu');
      await engine.loadPack({ packUrl: `${server.url}tests/fixtures/tiny/pack.json` });
      const fixture = readFixture(`${REPO_ROOT}/tests/fixtures/tiny`);
      const lagCase = fixture.cases.lag.find((c) => c.name === 'amplitude1.0')!;
      const runCase = () =>
        engine.runLag({
          lr: fixture.tensor(lagCase.lr).values,
          noise: fixture.tensor(lagCase.noise).values,
          amplitude: lagCase.amplitude,
          batch: 2,
        });

      const device = activeWebGpuDevice!;
      device.destroy(); // what a driver reset or GPU process crash looks like to the page
      // The engine's handler is attached to the same promise earlier, so it has run once this resolves.
      await device.lost;
      await engine.extract('after-loss', { width: 32, height: 32, data: new Uint8ClampedArray(32 * 32 * 4).fill(200) });

      expect(changes).toHaveLength(1);
      expect(['wasm', 'cpu']).toContain(changes[0].backend); // no WebGL in Node
      expect(changes[0].reason).toMatch(/WebGPU device lost/);
      expect(engine.backend?.backend).toBe(changes[0].backend);
      expect(maxAbsDiff(await runCase(), fixture.tensor(lagCase.out).values)).toBeLessThanOrEqual(fixture.tolerance);
    } finally {
      engine.dispose();
      await server.close();
    }
  });
});
