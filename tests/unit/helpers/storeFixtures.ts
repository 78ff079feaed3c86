// Plain values the store tests build on: a flat RGBA image and a pack summary (no engine involved).
import type { PackSummary, RgbaImage } from '../../../src/engine/protocol';
import { DEFAULT_LEVELS } from '../../../src/engine/levels';

export const img = (size: number, value = 0): RgbaImage => ({
  width: size,
  height: size,
  data: new Uint8ClampedArray(size * size * 4).fill(value),
});

export function makePack(id: string, overrides: Partial<PackSummary> = {}): PackSummary {
  return {
    id,
    title: `${id} pack`,
    preview: false,
    digest: `${id.length}`.padEnd(64, 'a'),
    imageSize: 32,
    classNames: ['airplane', 'automobile', 'bird'],
    levels: DEFAULT_LEVELS,
    lag: { scale: 4, lrSize: 8, noiseChannels: 4 },
    spZDim: 16,
    bytes: 1000,
    ...overrides,
  };
}
