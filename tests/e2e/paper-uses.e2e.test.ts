// The paper's other uses in headless Chromium (wasm): interpolation between two samples (gradual frames, the
// permalink reproduces them, the GIF export), sketch to image, and compositing a pasted image into the source.
import type { Browser, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, openApp, shareUrl, waitForPackReady, type AppPage } from './helpers/app';
import { SAME_TOLERANCE, expectCleanConsole, openReadyApp } from './helpers/flows';
import type { Rgba } from './helpers/images';
import { maxAbsDiff, meanAbsDiff } from './helpers/pixels';

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
