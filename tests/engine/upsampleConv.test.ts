// The sub-pixel form of conv3x3(up(x, 2)) (ops.ts) against the direct composition, on the cpu and wasm backends.
import { beforeAll, describe } from 'vitest';
import { activateBackend } from '../../src/engine/backend';
import { defineUpsampleConvSuite } from './helpers/upsampleConvSuite';

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`exact conv rewrites on ${backend}`, () => {
    beforeAll(async () => {
      const info = await activateBackend(backend);
      if (info.backend !== backend) throw new Error(`${backend} did not start: ${info.reason}`);
    });
    defineUpsampleConvSuite();
  });
}
