// The paper's other uses in headless Chromium (wasm): interpolation between two samples (gradual frames, the
// permalink reproduces them, the GIF and WebM exports), sketch to image, and compositing a pasted image into the
// source.
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { openApp, shareUrl, waitForGrid, waitForPackReady, type AppPage } from './helpers/app';
import { useBrowser } from './helpers/browserSession';
import { SAME_TOLERANCE, expectCleanConsole, openReadyApp, selectLevel } from './helpers/flows';
import { encodePng, type Rgba } from './helpers/images';
import {
  diffInsideOutside,
  drawStrokes,
  expectGradualFrames,
  waitForCommits,
  waitForFrames,
} from './helpers/paperUses';
import { fingerprint, maxAbsDiff, notARealImage } from './helpers/pixels';

const baseUrl = inject('baseUrl');
const session = useBrowser();
const track = <T extends AppPage>(app: T): T => session.keep(app);

describe('interpolation', () => {
  it('frames change gradually from the first sample; the permalink reproduces them; the GIF export', async ({
    annotate,
  }) => {
    const { app, grid } = await openReadyApp(session.browser, baseUrl);
    track(app);
    await app.page.getByTestId('interpolate-toggle').click();
    const frames = await waitForFrames(app, 8);
    // The first endpoint is sample 0 of the grid's seed, at the grid's level and class.
    const { adjacent, endpoints } = expectGradualFrames(frames, grid.images[0], 4);

    const link = await shareUrl(app.page);
    expect(link).toMatch(/interp=1/);
    expect(link).toMatch(/frames=8/);
    const again = track(await openApp(session.browser, link));
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

describe('interpolation video', () => {
  it('the WebM export: a non-empty WebM file of the frames', async ({ annotate }) => {
    const { app } = await openReadyApp(session.browser, baseUrl);
    track(app);
    await app.page.getByTestId('interpolate-toggle').click();
    await waitForFrames(app, 8);
    const [download] = await Promise.all([
      app.page.waitForEvent('download', { timeout: 60_000 }),
      app.page.getByTestId('export-video').click(),
    ]);
    const video = readFileSync(await download.path());
    expect(download.suggestedFilename()).toMatch(/\.webm$/);
    // A WebM file is Matroska: an EBML header first, then a Segment holding the encoded frames.
    expect(video.subarray(0, 4).toString('hex'), 'EBML magic').toBe('1a45dfa3');
    expect(video.includes(Buffer.from('webm')), 'DocType webm').toBe(true);
    expect(video.length, 'bytes of video').toBeGreaterThan(1000);
    expectCleanConsole(app);
    await annotate(`WebM ${video.length} bytes`);
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

describe('sketch', () => {
  it('strokes become the source; at stride 2 the samples are not blank and follow the drawing', async ({
    annotate,
  }) => {
    const opened = await openReadyApp(session.browser, baseUrl);
    const app = track(opened.app);
    const { page } = app;
    const grid = await selectLevel(app, opened.grid, 0);
    // A blue block on the left (sketch x 6..154, y 16..240 with the 48 px brush), white on the right.
    const strokes = await drawStrokes(page, {
      colour: '285ac8',
      size: 48,
      x0: 30,
      x1: 130,
      ys: [40, 64, 88, 112, 136, 160, 184, 208],
    });
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

describe('compositing', () => {
  it('a pasted image, moved with the arrow keys, changes the samples where it was pasted', async ({ annotate }) => {
    const opened = await openReadyApp(session.browser, baseUrl);
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
