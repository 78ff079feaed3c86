// The paper's other uses in headless Chromium (wasm): interpolation between two samples (gradual frames, the
// permalink reproduces them, the GIF export), sketch to image, and compositing a pasted image into the source.
import type { Browser, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, openApp, shareUrl, waitForGrid, waitForPackReady, type AppPage } from './helpers/app';
import { SAME_TOLERANCE, expectCleanConsole, openReadyApp, selectLevel } from './helpers/flows';
import { encodePng, type Rgba } from './helpers/images';
import { fingerprint, maxAbsDiff, meanAbsDiff, notARealImage } from './helpers/pixels';

const baseUrl = inject('baseUrl');
let browser: Browser;
const open: AppPage[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const app of open) await app.close().catch(() => undefined);
  await browser?.close();
});

function track<T extends AppPage>(app: T): T {
  open.push(app);
  return app;
}

/** Pixels of every canvas with `testId`, in data-index order. */
async function readCanvases(page: Page, testId: string): Promise<Rgba[]> {
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
async function waitForFrames(app: AppPage, count: number): Promise<Rgba[]> {
  let previous = '';
  for (;;) {
    await app.page.waitForFunction(
      (n) => document.querySelectorAll('canvas[data-testid="interp-frame"]').length === n,
      count,
      { timeout: 120_000, polling: 100 },
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

describe('interpolation', () => {
  it('frames change gradually from the first sample; the permalink reproduces them; the GIF export', async ({
    annotate,
  }) => {
    const { app, grid } = await openReadyApp(browser, baseUrl);
    track(app);
    await app.page.getByTestId('interpolate-toggle').click();
    const frames = await waitForFrames(app, 8);
    // The first endpoint is sample 0 of the grid's seed, at the grid's level and class.
    expect(maxAbsDiff(frames[0], grid.images[0]), 'frame 0 vs the grid sample 0').toBeLessThanOrEqual(SAME_TOLERANCE);
    const endpoints = meanAbsDiff(frames[0], frames[frames.length - 1]);
    const adjacent = frames.slice(1).map((frame, i) => meanAbsDiff(frames[i], frame));
    expect(endpoints, 'the two endpoints barely differ').toBeGreaterThan(4);
    for (const [i, d] of adjacent.entries())
      expect(d, `frames ${i} and ${i + 1} vs the endpoints (${endpoints.toFixed(1)})`).toBeLessThan(endpoints);

    const link = await shareUrl(app.page);
    expect(link).toMatch(/interp=1/);
    expect(link).toMatch(/frames=8/);
    const again = track(await openApp(browser, link));
    await waitForPackReady(again);
    const reproduced = await waitForFrames(again, 8);
    const worst = Math.max(...reproduced.map((frame, i) => maxAbsDiff(frame, frames[i])));
    expect(worst, 'frames from the link vs the original').toBeLessThanOrEqual(SAME_TOLERANCE);

    const [download] = await Promise.all([
      app.page.waitForEvent('download', { timeout: 60_000 }),
      app.page.getByTestId('export-animation').click(),
    ]);
    const gif = readFileSync(await download.path());
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(download.suggestedFilename()).toMatch(/\.gif$/);
    expectCleanConsole(app);
    expectCleanConsole(again);
    await annotate(
      `mean |frame i - frame i+1| ${adjacent.map((d) => d.toFixed(1)).join(', ')}; endpoints ${endpoints.toFixed(1)}; link max diff ${worst}; GIF ${gif.length} bytes`,
    );
  });
});

/** Mean of (blue - red) over the model pixels x0 <= x < x1, y0 <= y < y1. */
function blueness(image: Rgba, x0: number, x1: number, y0: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++)
      sum += image.data[(y * image.width + x) * 4 + 2] - image.data[(y * image.width + x) * 4];
  return sum / ((x1 - x0) * (y1 - y0));
}

/** Waits until `commits` sources were started from the canvas `testId` and none is still being prepared. */
async function waitForCommits(page: Page, testId: string, commits: number): Promise<void> {
  await page.waitForFunction(
    ({ id, n }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`[data-testid="${id}"]`);
      return canvas?.dataset.commits === String(n) && canvas.dataset.busy === 'false';
    },
    { id: testId, n: commits },
    { timeout: 120_000, polling: 100 },
  );
}

describe('sketch', () => {
  it('strokes become the source; at stride 2 the samples are not blank and follow the drawing', async ({
    annotate,
  }) => {
    const opened = await openReadyApp(browser, baseUrl);
    const app = track(opened.app);
    const { page } = app;
    const grid = await selectLevel(app, opened.grid, 0);
    await page.getByTestId('source-sketch').click();
    await page.getByTestId('sketch-colour-285ac8').click();
    await page.getByTestId('sketch-size').selectOption('48');
    const box = (await page.getByTestId('sketch-canvas').boundingBox())!;
    const at = (x: number, y: number) => [box.x + (x / 256) * box.width, box.y + (y / 256) * box.height] as const;
    // A blue block on the left (sketch x 6..154, y 16..240 with the 48 px brush), white on the right.
    let strokes = 0;
    for (let y = 40; y <= 216; y += 24) {
      await page.mouse.move(...at(30, y));
      await page.mouse.down();
      await page.mouse.move(...at(130, y), { steps: 6 });
      await page.mouse.up();
      strokes++;
    }
    await waitForCommits(page, 'sketch-canvas', strokes);
    const images = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [0],
      samples: grid.samples,
      notFingerprint: fingerprint(grid.images),
    });
    expect(images.map((image) => notARealImage(image, 32)).filter(Boolean), 'blank samples').toEqual([]);
    // Model pixels (32 px): well inside the block, and the white right-hand side.
    const inside = images.map((image) => blueness(image, 3, 16, 5, 27));
    const outside = images.map((image) => blueness(image, 22, 32, 0, 32));
    for (const [i, value] of inside.entries())
      expect(value - outside[i], `sample ${i}: blue - red inside vs outside the strokes`).toBeGreaterThan(60);
    await expect.poll(() => page.getByTestId('sketch-undo').isEnabled()).toBe(true);
    expectCleanConsole(app);
    await annotate(
      `blue - red inside ${inside.map((v) => v.toFixed(0)).join(', ')}; outside ${outside.map((v) => v.toFixed(0)).join(', ')}`,
    );
  });
});

/** Mean |a - b| (RGB) over pixels inside the rectangle (shrunk by `margin`) and outside it (grown by `margin`). */
function diffInsideOutside(a: Rgba, b: Rgba, rect: number[], margin: number): { inside: number; outside: number } {
  const [rx, ry, rw, rh] = rect;
  const sums = { inside: [0, 0], outside: [0, 0] };
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const within = (m: number) => x >= rx + m && x < rx + rw - m && y >= ry + m && y < ry + rh - m;
      const where = within(margin) ? sums.inside : !within(-margin) ? sums.outside : null;
      if (!where) continue;
      const p = (y * a.width + x) * 4;
      for (let c = 0; c < 3; c++) where[0] += Math.abs(a.data[p + c] - b.data[p + c]);
      where[1] += 3;
    }
  }
  return { inside: sums.inside[0] / sums.inside[1], outside: sums.outside[0] / sums.outside[1] };
}

describe('compositing', () => {
  it('a pasted image, moved with the arrow keys, changes the samples where it was pasted', async ({ annotate }) => {
    const opened = await openReadyApp(browser, baseUrl);
    const app = track(opened.app);
    const { page } = app;
    const grid = await selectLevel(app, opened.grid, 0);
    await page.getByTestId('source-composite').click();
    const magenta = {
      width: 16,
      height: 16,
      data: new Uint8Array(16 * 16 * 4).map((_, i) => [230, 20, 210, 255][i & 3]),
    };
    await page
      .getByTestId('composite-input')
      .setInputFiles({ name: 'magenta.png', mimeType: 'image/png', buffer: encodePng(magenta) });
    await expect.poll(() => page.getByTestId('composite-apply').isEnabled(), { timeout: 30_000 }).toBe(true);
    // Placed at the centre at half the width (8..24 of 32 px); three nudges to the left.
    const canvas = page.getByTestId('composite-canvas');
    await expect.poll(() => canvas.getAttribute('data-rect')).toBe('8,8,16,16');
    await canvas.focus();
    for (let i = 0; i < 3; i++) await canvas.press('ArrowLeft');
    await expect.poll(() => canvas.getAttribute('data-rect')).toBe('5,8,16,16');
    await page.getByTestId('composite-apply').click();
    await waitForCommits(page, 'composite-canvas', 1);
    const images = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [0],
      samples: grid.samples,
      notFingerprint: fingerprint(grid.images),
    });
    const rect = [5, 8, 16, 16];
    const diffs = images.map((image, i) => diffInsideOutside(image, grid.images[i], rect, 2));
    for (const [i, d] of diffs.entries()) {
      expect(d.inside, `sample ${i}: change inside the pasted region`).toBeGreaterThan(30);
      expect(d.inside, `sample ${i}: inside vs outside change`).toBeGreaterThan(3 * d.outside);
    }
    // At stride 2 the pasted magenta (red and blue high, green low) shows in the samples there.
    const magentaness = (image: Rgba) => {
      let sum = 0;
      for (let y = 10; y < 22; y++)
        for (let x = 7; x < 19; x++)
          sum +=
            Math.min(image.data[(y * 32 + x) * 4], image.data[(y * 32 + x) * 4 + 2]) - image.data[(y * 32 + x) * 4 + 1];
      return sum / 144;
    };
    for (const [i, image] of images.entries()) {
      expect(
        magentaness(image) - magentaness(grid.images[i]),
        `sample ${i}: min(R, B) - G in the pasted region, after - before`,
      ).toBeGreaterThan(30);
    }
    expectCleanConsole(app);
    await annotate(
      `mean |new - old| inside ${diffs.map((d) => d.inside.toFixed(0)).join(', ')}; outside ${diffs.map((d) => d.outside.toFixed(1)).join(', ')}`,
    );
  });
});
