// Multi-step flows shared by the e2e files: open the app, wait for its first grid, put our own image in, pick
// settings, each step waiting for the grid it causes.
import type { Browser } from 'playwright-core';
import { expect } from 'vitest';
import { appUrl, openApp, setNumber, waitForGrid, waitForPackReady, type AppPage, type Backend } from './app';
import { encodePng, scene, type SceneName } from './images';
import { fingerprint, type SampleImage } from './pixels';

/** The app's defaults (src/share/permalink.ts DEFAULT_PERMALINK_STATE): level 2, 6 samples. */
export const DEFAULT_LEVEL = 2;
export const DEFAULT_SAMPLES = 6;
/** "Same image" tolerance (0..255 units): 2/255 per channel. */
export const SAME_TOLERANCE = 2;

export interface GridState {
  level: number;
  samples: number;
  images: SampleImage[];
}

/** A fresh context on the app; waits for the pack and for the grid of the default sample image. */
export async function openReadyApp(
  browser: Browser,
  baseUrl: string,
  options: { backend?: Backend; clipboard?: boolean } = {},
): Promise<{ app: AppPage; grid: GridState }> {
  const app = await openApp(browser, appUrl(baseUrl, { backend: options.backend ?? 'wasm' }), {
    clipboard: options.clipboard,
  });
  await waitForPackReady(app);
  const images = await waitForGrid(app, {
    container: 'sample-grid',
    levels: [DEFAULT_LEVEL],
    samples: DEFAULT_SAMPLES,
  });
  return { app, grid: { level: DEFAULT_LEVEL, samples: DEFAULT_SAMPLES, images } };
}

/** Uploads PNG bytes through `file-input` and waits for the new grid. */
export async function uploadPng(
  app: AppPage,
  grid: GridState,
  png: Buffer,
  name = 'test-image.png',
): Promise<GridState> {
  await app.page.getByTestId('file-input').setInputFiles({ name, mimeType: 'image/png', buffer: png });
  const images = await waitForGrid(app, {
    container: 'sample-grid',
    levels: [grid.level],
    samples: grid.samples,
    notFingerprint: fingerprint(grid.images),
  });
  return { ...grid, images };
}

export async function uploadScene(app: AppPage, grid: GridState, name: SceneName): Promise<GridState> {
  return uploadPng(app, grid, encodePng(scene(name)), `${name}.png`);
}

export async function setSamples(app: AppPage, grid: GridState, samples: number): Promise<GridState> {
  if (samples === grid.samples) return grid;
  await setNumber(app.page, 'samples-input', samples);
  const images = await waitForGrid(app, { container: 'sample-grid', levels: [grid.level], samples });
  return { ...grid, samples, images };
}

export async function setSeed(app: AppPage, grid: GridState, seed: number): Promise<GridState> {
  await setNumber(app.page, 'seed-input', seed);
  const images = await waitForGrid(app, {
    container: 'sample-grid',
    levels: [grid.level],
    samples: grid.samples,
    notFingerprint: fingerprint(grid.images),
  });
  return { ...grid, images };
}

export async function selectLevel(app: AppPage, grid: GridState, level: number): Promise<GridState> {
  await app.page.getByTestId(`level-${level}`).click();
  const images = await waitForGrid(app, { container: 'sample-grid', levels: [level], samples: grid.samples });
  await expect.poll(() => app.page.getByTestId(`level-${level}`).getAttribute('aria-pressed')).toBe('true');
  return { ...grid, level, images };
}

/** Fails with the page's own words if it threw or logged errors. */
export function expectCleanConsole(app: AppPage): void {
  expect(app.pageErrors, 'uncaught exceptions in the page').toEqual([]);
  expect(app.consoleErrors, 'console.error messages in the page').toEqual([]);
}
