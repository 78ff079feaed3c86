// The sub-pixel form of conv3x3(up(x, 2)) (ops.ts) against the direct composition on WebGPU (Dawn + SwiftShader in
// Node; vite.config.ts's 'webgpu' project sets up the driver). Explicit asymmetric conv padding is what it relies on.
import { create, globals } from 'webgpu';
import { beforeAll, describe } from 'vitest';
import { activateBackend } from '../../src/engine/backend';
import { defineUpsampleConvSuite } from './helpers/upsampleConvSuite';

Object.assign(globalThis, globals);
(globalThis as { navigator?: unknown }).navigator ??= {};
Object.defineProperty(globalThis.navigator, 'gpu', { value: create([]), configurable: true });

describe('exact conv rewrites on webgpu', () => {
  beforeAll(async () => {
    const info = await activateBackend('webgpu');
    if (info.backend !== 'webgpu') throw new Error(`webgpu did not start: ${info.reason}`);
  });
  defineUpsampleConvSuite();
});
