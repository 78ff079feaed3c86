// The paper's other uses as the e2e files drive them: interpolation frames read back from their canvases, strokes on
// the sketch canvas, an image pasted onto the composite editor, and waiting until a drawing or composite has become
// the source (the canvases' data-commits / data-busy).
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { AppPage } from './app';
import { SAME_TOLERANCE } from './flows';
import type { Rgba } from './images';
import { maxAbsDiff, meanAbsDiff } from './pixels';

/** Pixels of every canvas with `testId`, in data-index order. */
export async function readCanvases(page: Page, testId: string): Promise<Rgba[]> {
  const raw = await page.evaluate((id) => {
    const elements = Array.from(document.querySelectorAll<HTMLCanvasElement>(`canvas[data-testid="${id}"]`));
    elements.sort((a, b) => Number(a.dataset.index ?? 0) - Number(b.dataset.index ?? 0));
    return elements.map((canvas) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let binary = '';
      for (let i = 0; i < data.length; i++) binary += String.fromCharCode(data[i]);
      return { width: canvas.width, height: canvas.height, base64: btoa(binary) };
    });
  }, testId);
  return raw.map((r) => ({ width: r.width, height: r.height, data: new Uint8Array(Buffer.from(r.base64, 'base64')) }));
}

/** Waits for `count` painted interpolation frames, stable over two reads. */
export async function waitForFrames(app: AppPage, count: number, timeout = 120_000): Promise<Rgba[]> {
  let previous = '';
  for (;;) {
    await app.page.waitForFunction(
      (n) => document.querySelectorAll('canvas[data-testid="interp-frame"]').length === n,
      count,
      { timeout, polling: 100 },
    );
    await app.page.evaluate(
      () => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => done()))),
    );
    const frames = await readCanvases(app.page, 'interp-frame');
    const print = frames.map((f) => Buffer.from(f.data).toString('base64')).join('|');
    if (frames.length === count && print === previous) return frames;
    previous = print;
  }
}

/**
 * Interpolation frames from `first` (sample 0 of the grid they start from) that change gradually: the endpoints
 * differ by a mean of more than `minEndpoints`, and each two adjacent frames by less than the endpoints do.
 * Returns the mean differences, adjacent and of the endpoints.
 */
export function expectGradualFrames(
  frames: Rgba[],
  first: Rgba,
  minEndpoints: number,
): { adjacent: number[]; endpoints: number } {
  expect(maxAbsDiff(frames[0], first), 'frame 0 vs the grid sample 0').toBeLessThanOrEqual(SAME_TOLERANCE);
  const endpoints = meanAbsDiff(frames[0], frames[frames.length - 1]);
  const adjacent = frames.slice(1).map((frame, i) => meanAbsDiff(frames[i], frame));
  expect(endpoints, 'the two endpoints barely differ').toBeGreaterThan(minEndpoints);
  for (const [i, d] of adjacent.entries())
    expect(d, `frames ${i} and ${i + 1} vs the endpoints (${endpoints.toFixed(1)})`).toBeLessThan(endpoints);
  return { adjacent, endpoints };
}

/** Waits until `commits` sources were started from the canvas `testId` and none is still being prepared. */
export async function waitForCommits(page: Page, testId: string, commits: number): Promise<void> {
  await page.waitForFunction(
    ({ id, n }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`[data-testid="${id}"]`);
      return canvas?.dataset.commits === String(n) && canvas.dataset.busy === 'false';
    },
    { id: testId, n: commits },
    { timeout: 120_000, polling: 100 },
  );
}

/** The sketch canvas's own resolution (SketchPad.tsx SKETCH_SIZE): stroke coordinates are given in it. */
export const SKETCH_SIZE = 256;

/**
 * Switches the source to drawing and draws horizontal strokes from x0 to x1 (sketch pixels) at each y, with the
 * palette colour `colour` (hex without '#') and brush `size`; returns how many strokes were drawn.
 */
export async function drawStrokes(
  page: Page,
  strokes: { colour: string; size: number; x0: number; x1: number; ys: number[] },
): Promise<number> {
  await page.getByTestId('source-sketch').click();
  await page.getByTestId(`sketch-colour-${strokes.colour}`).click();
  await page.getByTestId('sketch-size').selectOption(String(strokes.size));
  const box = (await page.getByTestId('sketch-canvas').boundingBox())!;
  const at = (x: number, y: number) =>
    [box.x + (x / SKETCH_SIZE) * box.width, box.y + (y / SKETCH_SIZE) * box.height] as const;
  for (const y of strokes.ys) {
    await page.mouse.move(...at(strokes.x0, y));
    await page.mouse.down();
    await page.mouse.move(...at(strokes.x1, y), { steps: 6 });
    await page.mouse.up();
  }
  return strokes.ys.length;
}

/** A flat opaque square of one colour. */
export function flatSquare(size: number, rgb: [number, number, number]): Rgba {
  return { width: size, height: size, data: new Uint8Array(size * size * 4).map((_, i) => [...rgb, 255][i & 3]) };
}

/** The composite editor's rectangle of the pasted image, in model pixels: "x,y,width,height". */
export function compositeRect(page: Page): Promise<string | null> {
  return page.getByTestId('composite-canvas').getAttribute('data-rect');
}

/**
 * Nudges the pasted image with the arrow keys (Shift: 4 model pixels a press) and waits until the editor reports
 * the rectangle `expected` ("x,y,width,height").
 */
export async function nudgeComposite(page: Page, keys: string[], expected: string): Promise<void> {
  const canvas = page.getByTestId('composite-canvas');
  await canvas.focus();
  for (const key of keys) await canvas.press(key);
  await expect.poll(() => compositeRect(page)).toBe(expected);
}

/** Mean |a - b| (RGB) over pixels inside the rectangle (shrunk by `margin`) and outside it (grown by `margin`). */
export function diffInsideOutside(
  a: Rgba,
  b: Rgba,
  rect: number[],
  margin: number,
): { inside: number; outside: number; maxInside: number; maxOutside: number } {
  const [rx, ry, rw, rh] = rect;
  const sums = { inside: [0, 0, 0], outside: [0, 0, 0] };
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const within = (m: number) => x >= rx + m && x < rx + rw - m && y >= ry + m && y < ry + rh - m;
      const where = within(margin) ? sums.inside : !within(-margin) ? sums.outside : null;
      if (!where) continue;
      const p = (y * a.width + x) * 4;
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(a.data[p + c] - b.data[p + c]);
        where[0] += d;
        where[2] = Math.max(where[2], d);
      }
      where[1] += 3;
    }
  }
  return {
    inside: sums.inside[0] / sums.inside[1],
    outside: sums.outside[0] / sums.outside[1],
    maxInside: sums.inside[2],
    maxOutside: sums.outside[2],
  };
}
