import type { LevelInfo } from '../engine/protocol';

export const LEVEL_COUNT = 7;

/** The pyramid as docs/pack-format.md defines it; a loaded pack's own table takes precedence. */
export const DEFAULT_LEVELS: LevelInfo[] = [
  { index: 0, name: 'pool1', stride: 2, channels: 0, size: null },
  { index: 1, name: 'pool2', stride: 4, channels: 0, size: null },
  { index: 2, name: 'pool3', stride: 8, channels: 0, size: null },
  { index: 3, name: 'pool4', stride: 16, channels: 0, size: null },
  { index: 4, name: 'pool5', stride: 32, channels: 0, size: null },
  { index: 5, name: 'fc7', stride: null, channels: 0, size: null },
  { index: 6, name: 'fc8', stride: null, channels: 0, size: null },
];

/** "stride 2 · pool1" … "stride 32 · pool5", "FC7", "FC8 · class". */
export function levelLabel(level: LevelInfo): string {
  if (level.stride !== null) return `stride ${level.stride} · ${level.name}`;
  if (level.name === 'fc8') return 'FC8 · class';
  return level.name.toUpperCase();
}

/** A sentence on what the generator keeps from the source at this level. */
export function levelHint(level: LevelInfo): string {
  if (level.stride !== null && level.stride <= 2) return 'near-copies of the source';
  if (level.stride !== null && level.stride <= 4) return 'fine layout and textures kept';
  if (level.stride !== null && level.stride <= 8) return 'same layout, new details';
  if (level.stride !== null) return 'coarse layout, free appearance';
  if (level.name === 'fc7') return 'same semantics, free layout';
  return 'same class only';
}
