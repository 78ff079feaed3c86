// Pixel statistics over images read back from the page (RGB only; alpha is checked separately).
import { createHash } from 'node:crypto';
import type { Rgba } from './images';

export interface SampleImage extends Rgba {
  /** data-level: "0".."6" or "lag". */
  level: string;
  /** data-index. */
  index: number;
}

function sameSize(a: Rgba, b: Rgba): void {
  if (a.width !== b.width || a.height !== b.height)
    throw new Error(`size mismatch: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
}

/** Largest absolute RGB difference, in 0..255 units. */
export function maxAbsDiff(a: Rgba, b: Rgba): number {
  sameSize(a, b);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    if ((i & 3) === 3) continue;
    const d = Math.abs(a.data[i] - b.data[i]);
    if (d > max) max = d;
  }
  return max;
}

/** Mean absolute RGB difference, in 0..255 units. */
export function meanAbsDiff(a: Rgba, b: Rgba): number {
  sameSize(a, b);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i++) {
    if ((i & 3) === 3) continue;
    sum += Math.abs(a.data[i] - b.data[i]);
    n++;
  }
  return sum / n;
}

/** Standard deviation of all RGB values (0..255): ~0 for a blank image. */
export function stdDev(image: Rgba): number {
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let i = 0; i < image.data.length; i++) {
    if ((i & 3) === 3) continue;
    sum += image.data[i];
    sumSq += image.data[i] * image.data[i];
    n++;
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sumSq / n - mean * mean));
}

/** Number of distinct RGB colours. */
export function distinctColours(image: Rgba): number {
  const seen = new Set<number>();
  for (let i = 0; i < image.data.length; i += 4)
    seen.add((image.data[i] << 16) | (image.data[i + 1] << 8) | image.data[i + 2]);
  return seen.size;
}

export function minAlpha(image: Rgba): number {
  let min = 255;
  for (let i = 3; i < image.data.length; i += 4) min = Math.min(min, image.data[i]);
  return min;
}

/** Why an image does not look like a generated picture (blank, flat, transparent, wrong size), or null. */
export function notARealImage(image: SampleImage, size?: number): string | null {
  const where = `sample level=${image.level} index=${image.index}`;
  if (image.width === 0 || image.height === 0) return `${where} is 0x0`;
  if (size !== undefined && (image.width !== size || image.height !== size))
    return `${where} is ${image.width}x${image.height}, expected ${size}x${size}`;
  if (minAlpha(image) < 255) return `${where} has transparent pixels (min alpha ${minAlpha(image)}): not painted?`;
  const std = stdDev(image);
  if (std < 4) return `${where} is flat (RGB std ${std.toFixed(2)})`;
  const colours = distinctColours(image);
  if (colours < 24) return `${where} has only ${colours} distinct colours`;
  return null;
}

/** Largest and smallest of maxAbsDiff over all pairs. */
export function pairwiseDiffs(images: Rgba[]): { min: number; max: number; minMean: number } {
  let min = Infinity;
  let max = 0;
  let minMean = Infinity;
  for (let i = 0; i < images.length; i++) {
    for (let j = i + 1; j < images.length; j++) {
      const d = maxAbsDiff(images[i], images[j]);
      min = Math.min(min, d);
      max = Math.max(max, d);
      minMean = Math.min(minMean, meanAbsDiff(images[i], images[j]));
    }
  }
  return { min, max, minMean };
}

/** Compares two equally shaped lists of samples (same level/index order). */
export function compareSets(a: SampleImage[], b: SampleImage[]): { max: number; mean: number; worst: string } {
  if (a.length !== b.length) throw new Error(`sample count differs: ${a.length} vs ${b.length}`);
  let max = 0;
  let sumMean = 0;
  let worst = '';
  for (let i = 0; i < a.length; i++) {
    if (a[i].level !== b[i].level || a[i].index !== b[i].index) {
      throw new Error(`sample order differs at ${i}: ${a[i].level}/${a[i].index} vs ${b[i].level}/${b[i].index}`);
    }
    const d = maxAbsDiff(a[i], b[i]);
    sumMean += meanAbsDiff(a[i], b[i]);
    if (d >= max) {
      max = d;
      worst = `level=${a[i].level} index=${a[i].index}`;
    }
  }
  return { max, mean: sumMean / a.length, worst };
}

export function fingerprint(images: SampleImage[]): string {
  const hash = createHash('sha256');
  for (const image of images) {
    hash.update(`${image.level}/${image.index}/${image.width}x${image.height};`);
    hash.update(image.data);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Mean over samples of meanAbsDiff(sample, reference). */
export function meanDistanceTo(samples: Rgba[], reference: Rgba): number {
  return samples.reduce((sum, s) => sum + meanAbsDiff(s, reference), 0) / samples.length;
}
