// WebGPU device loss in the middle of a generation, in Node through the `webgpu` package (Dawn on SwiftShader; the
// vitest 'webgpu' project). In Chromium the failed read-back ("mapAsync ... Buffer was unmapped before mapping was
// resolved") rejects before `device.lost` resolves; here `device.lost` is delayed on purpose so the announcement
// comes well after the failure, and the engine must still switch backends and finish the interrupted generation.
import { create, globals } from 'webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeWebGpuDevice } from '../../src/engine/backend';
import { PyramidEngine } from '../../src/engine/engine';
import type { GenerateRequest, RgbaImage } from '../../src/engine/protocol';
import { engineInternals } from './helpers/engineInternals';
import { REPO_ROOT } from './helpers/fixtures';
import { startStaticServer, type StaticServer } from './helpers/staticServer';

Object.assign(globalThis, globals);
const gpu = create([]);
(globalThis as { navigator?: unknown }).navigator ??= {};
Object.defineProperty(globalThis.navigator, 'gpu', { value: gpu, configurable: true });

/** How late `device.lost` resolves after the device is destroyed (longer than any read-back of the tiny pack). */
const LOST_DELAY_MS = 600;
/** Devices handed out from here on announce their loss LOST_DELAY_MS late. */
function delayLostAnnouncements(): void {
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (options?: GPURequestAdapterOptions) => {
    const adapter = await requestAdapter(options);
    if (!adapter) return adapter;
    const requestDevice = adapter.requestDevice.bind(adapter);
    adapter.requestDevice = async (descriptor?: GPUDeviceDescriptor) => {
      const device = await requestDevice(descriptor);
      const lost = device.lost.then(
        (info) => new Promise<GPUDeviceLostInfo>((resolve) => setTimeout(() => resolve(info), LOST_DELAY_MS)),
      );
      Object.defineProperty(device, 'lost', { value: lost, configurable: true });
      return device;
    };
    return adapter;
  };
}

function image(): RgbaImage {
  const data = new Uint8ClampedArray(32 * 32 * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
  return { width: 32, height: 32, data };
}

let server: StaticServer;
beforeAll(async () => {
  server = await startStaticServer(REPO_ROOT);
  delayLostAnnouncements();
});
afterAll(() => server.close());

describe('WebGPU device lost mid-generation', () => {
  it('switches backend and finishes the interrupted generation, each row once and in order, with no leaked tensors', async () => {
    const changes: { backend: string; reason: string; at: number }[] = [];
    // 4 images a batch: the 7 x 2 grid takes 4 batches, so rows are streamed before and after the loss.
    const engine = new PyramidEngine({
      batchPixels: 4 * 32 * 32,
      onBackendChanged: (backend, reason) => changes.push({ backend, reason, at: Date.now() }),
    });
    try {
      expect((await engine.init('webgpu')).backend).toBe('webgpu');
      await engine.loadPack({ packUrl: `${server.url}tests/fixtures/tiny/pack.json` });
      await engine.extract('a', image());
      const request: GenerateRequest = {
        featuresId: 'a',
        levels: [0, 1, 2, 3, 4, 5, 6],
        samples: 2,
        seed: 9,
        classIndex: 3,
      };
      const reference: RgbaImage[][] = [];
      await engine.generate(request, (_, images) => reference.push(images));
      const tensorsBefore = engine.memory().numTensors;

      const rows: { level: number; images: RgbaImage[] }[] = [];
      let destroyedAt = 0;
      await engine.generate(request, (level, images) => {
        rows.push({ level, images });
        if (rows.length === 1) {
          activeWebGpuDevice!.destroy(); // the next batch's read-back fails; the loss is announced 600 ms later
          destroyedAt = Date.now();
        }
      });

      expect(changes).toHaveLength(1);
      expect(['wasm', 'cpu']).toContain(changes[0].backend); // no WebGL in Node
      expect(changes[0].reason).toMatch(/WebGPU device lost \(destroyed\)/);
      expect(changes[0].at - destroyedAt, 'the loss was announced late, after the failed batch').toBeGreaterThanOrEqual(
        LOST_DELAY_MS - 50,
      );
      expect(engine.backend?.backend).toBe(changes[0].backend);
      // Every row exactly once, in order; rows from before and after the loss match the webgpu reference.
      expect(rows.map((r) => r.level)).toEqual(request.levels);
      rows.forEach((row, r) =>
        row.images.forEach((img, k) => {
          let maxDiff = 0;
          for (let i = 0; i < img.data.length; i++)
            maxDiff = Math.max(maxDiff, Math.abs(img.data[i] - reference[r][k].data[i]));
          expect(maxDiff, `row ${r} sample ${k}`).toBeLessThanOrEqual(1);
        }),
      );
      // Weights re-uploaded and features rebuilt on the new backend: the same tensors as before, nothing left over.
      expect(engine.memory().numTensors).toBe(tensorsBefore);
      const again: number[] = [];
      await engine.generate({ ...request, levels: [2], seed: 10 }, (level) => again.push(level));
      expect(again).toEqual([2]);
      expect(engine.memory().numTensors).toBe(tensorsBefore);
    } finally {
      engine.dispose();
    }
  });

  it('a failure on a live WebGPU device is reported as it is, without a switch or a retry', async () => {
    const changes: string[] = [];
    const engine = new PyramidEngine({ onBackendChanged: (backend) => changes.push(backend) });
    try {
      expect((await engine.init('webgpu')).backend).toBe('webgpu');
      let runs = 0;
      const { withRecovery } = engineInternals(engine);
      await expect(
        withRecovery(async () => {
          runs++;
          throw new Error('a shader failed to compile');
        }),
      ).rejects.toThrow('a shader failed to compile');
      expect(runs).toBe(1);
      expect(changes).toEqual([]);
      expect(engine.backend?.backend).toBe('webgpu');
    } finally {
      engine.dispose();
    }
  });
});
