// LAG's `upsample` arch field as the engine reads it from pack.json: absent means nearest (packs made before the
// field), anything else but the documented modes is a clear pack-format error.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLagArch } from '../../src/engine/lag';
import { REPO_ROOT } from './helpers/fixtures';

const lagArchOf = (dir: string) => JSON.parse(readFileSync(join(REPO_ROOT, dir, 'pack.json'), 'utf8')).models.lag.arch;

describe('LAG arch: upsample', () => {
  it('reads a pack without the field (the cifar10 pack) as nearest', () => {
    const arch = lagArchOf('models/cifar10');
    expect(arch.upsample).toBeUndefined();
    expect(parseLagArch(arch, 32).upsample).toBe('nearest');
  });

  it('reads the fixture packs that name it', () => {
    expect(parseLagArch(lagArchOf('tests/fixtures/tiny64'), 64).upsample).toBe('nearest');
    expect(parseLagArch(lagArchOf('tests/fixtures/tiny128'), 128).upsample).toBe('bilinear');
  });

  it.each([['bicubic'], [null], [3]])('refuses upsample %j with a message naming the field', (value) => {
    const arch = { ...lagArchOf('tests/fixtures/tiny64'), upsample: value };
    expect(() => parseLagArch(arch, 64)).toThrow(/models\.lag\.arch: upsample must be one of nearest, bilinear/);
  });
});
