// The feature-pyramid levels of docs/pack-format.md ("The pyramid levels"): the one table the engine, the protocol,
// pack loading, the permalink codec, the store, the shortcuts and the UI all read. Kept free of TF.js so the UI may
// import it. The Python side of the same table is scripts/pipeline/levels.py.
import type { LevelInfo } from './protocol';

export interface LevelSpec {
  index: number;
  name: string;
  /** Pixels of the image per feature cell; null for the dense (fully connected) levels. */
  stride: number | null;
  /** The button text. */
  label: string;
  /** What the generator keeps from the source at this level. */
  hint: string;
}

/** Coarsening order: each level keeps less of the source than the one before it. */
export const LEVELS: readonly LevelSpec[] = [
  { index: 0, name: 'pool1', stride: 2, label: 'stride 2 · pool1', hint: 'near-copies of the source' },
  { index: 1, name: 'pool2', stride: 4, label: 'stride 4 · pool2', hint: 'fine layout and textures kept' },
  { index: 2, name: 'pool3', stride: 8, label: 'stride 8 · pool3', hint: 'same layout, new details' },
  { index: 3, name: 'pool4', stride: 16, label: 'stride 16 · pool4', hint: 'coarse layout, free appearance' },
  { index: 4, name: 'pool5', stride: 32, label: 'stride 32 · pool5', hint: 'coarse layout, free appearance' },
  { index: 5, name: 'fc7', stride: null, label: 'FC7', hint: 'same semantics, free layout' },
  { index: 6, name: 'fc8', stride: null, label: 'FC8 · class', hint: 'same class only' },
];

export const LEVEL_COUNT = LEVELS.length;
export const LEVEL_NAMES: readonly string[] = LEVELS.map((level) => level.name);
/** The levels with a stride come first: indices below this are spatial (pool1..pool5). */
export const SPATIAL_LEVEL_COUNT = LEVELS.filter((level) => level.stride !== null).length;
/** The dense levels, which the Semantic Pyramid generator adds through a dense layer instead of a 1x1 conv. */
export const FC7_LEVEL = LEVEL_NAMES.indexOf('fc7');
export const FC8_LEVEL = LEVEL_NAMES.indexOf('fc8');

/** The feature map's side for an image of `imageSize` pixels; null for a dense level. */
export function levelSize(level: Pick<LevelSpec, 'stride'>, imageSize: number): number | null {
  return level.stride === null ? null : imageSize / level.stride;
}

/**
 * Whether the Semantic Pyramid generator may inject this level: only a spatial level coarser than the image. A level
 * at full image resolution would hand the generator a copy of its input, so it is never injected.
 */
export function isInjectable(level: { size: number | null }, imageSize: number): boolean {
  return level.size !== null && level.size < imageSize;
}

/** The table as the protocol's LevelInfo, before a pack (which adds channels and sizes) is loaded. */
export const DEFAULT_LEVELS: LevelInfo[] = LEVELS.map(({ index, name, stride }) => ({
  index,
  name,
  stride,
  channels: 0,
  size: null,
}));

export function levelLabel(level: Pick<LevelInfo, 'index'>): string {
  return LEVELS[level.index].label;
}

export function levelHint(level: Pick<LevelInfo, 'index'>): string {
  return LEVELS[level.index].hint;
}
