// The TS level table (src/engine/levels.ts) against the two other statements of it: the table in
// docs/pack-format.md and the `levels` the Python exporter wrote into the tiny fixture pack.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LEVELS,
  FC7_LEVEL,
  FC8_LEVEL,
  LEVELS,
  LEVEL_COUNT,
  SPATIAL_LEVEL_COUNT,
  isInjectable,
  levelSize,
} from '../../src/engine/levels';

const repoFile = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** Rows of the markdown table under the "## The pyramid levels" heading: [index, name, stride]. */
function docLevelRows(): { index: number; name: string; stride: number | null }[] {
  const section = repoFile('docs/pack-format.md')
    .split(/^## /m)
    .find((part) => part.startsWith('The pyramid levels'));
  if (!section) throw new Error('docs/pack-format.md has no "## The pyramid levels" section');
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  const [header, separator, ...body] = rows;
  expect(header.slice(0, 3)).toEqual(['index', 'name', 'stride']);
  expect(separator.every((cell) => /^-+$/.test(cell))).toBe(true);
  return body.map(([index, name, stride]) => ({
    index: Number(index),
    name,
    stride: stride === '-' ? null : Number(stride),
  }));
}

interface PackLevel {
  index: number;
  name: string;
  stride: number | null;
  size: number | null;
}

describe('level table', () => {
  const table = LEVELS.map(({ index, name, stride }) => ({ index, name, stride }));

  it('matches docs/pack-format.md: names, strides, order', () => {
    expect(docLevelRows()).toEqual(table);
  });

  it('matches the levels of the Python-exported tiny pack, sizes included', () => {
    const pack = JSON.parse(repoFile('tests/fixtures/tiny/pack.json')) as { imageSize: number; levels: PackLevel[] };
    expect(pack.levels.map(({ index, name, stride }) => ({ index, name, stride }))).toEqual(table);
    expect(pack.levels.map((level) => level.size)).toEqual(LEVELS.map((level) => levelSize(level, pack.imageSize)));
  });

  it('puts the spatial levels first and names the dense ones', () => {
    expect(LEVEL_COUNT).toBe(7);
    expect(SPATIAL_LEVEL_COUNT).toBe(5);
    expect(LEVELS.slice(0, SPATIAL_LEVEL_COUNT).every((level) => level.stride !== null)).toBe(true);
    expect(LEVELS.slice(SPATIAL_LEVEL_COUNT).every((level) => level.stride === null)).toBe(true);
    expect([LEVELS[FC7_LEVEL].name, LEVELS[FC8_LEVEL].name]).toEqual(['fc7', 'fc8']);
    expect(DEFAULT_LEVELS.map((level) => level.name)).toEqual(LEVELS.map((level) => level.name));
  });

  it('injects spatial levels coarser than the image, never a full-resolution or dense one', () => {
    expect(isInjectable({ size: 16 }, 32)).toBe(true);
    expect(isInjectable({ size: 1 }, 32)).toBe(true);
    expect(isInjectable({ size: 32 }, 32)).toBe(false);
    expect(isInjectable({ size: null }, 32)).toBe(false);
    const pack = JSON.parse(repoFile('tests/fixtures/tiny/pack.json')) as {
      imageSize: number;
      levels: PackLevel[];
      models: { sp: { arch: { injections: { level: string }[] } } };
    };
    const injected = pack.models.sp.arch.injections.map((injection) => injection.level).sort();
    const injectable = pack.levels
      .filter((level) => isInjectable(level, pack.imageSize))
      .map((level) => level.name)
      .sort();
    expect(injected).toEqual(injectable);
  });
});
