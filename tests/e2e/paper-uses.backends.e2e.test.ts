// The paper's other uses on the GPU backends (headless Chromium, WebGL and WebGPU on SwiftShader): on the bundled
// pack, the same steps on wasm first and then on each forced backend: interpolation frames, strokes drawn as the
// source, and a pasted image composited on top of the drawing, all at level 0 with 2 samples (software GPUs are
// slow). Each backend must show real images and agree with wasm within the cross-backend tolerance of
// backends.e2e.test.ts (float32 everywhere, different kernels and summation orders).
import { describe, expect, inject, it } from 'vitest';
import {
  activeBackend,
  launchBrowser,
  openApp,
  shareUrl,
  waitForGrid,
  waitForPackReady,
  withBackend,
  type AppPage,
  type Backend,
} from './helpers/app';
import { useBrowser } from './helpers/browserSession';
import { expectCleanConsole, openReadyApp, selectLevel, setSamples } from './helpers/flows';
import { encodePng, type Rgba } from './helpers/images';
import { drawStrokes, flatSquare, waitForCommits, waitForFrames } from './helpers/paperUses';
import { fingerprint, maxAbsDiff, meanAbsDiff, notARealImage, type SampleImage } from './helpers/pixels';

const baseUrl = inject('baseUrl');
const SAMPLES = 2;
const FRAMES = 8;
const MAX_TOLERANCE = 8;
const MEAN_TOLERANCE = 0.5;
const SLOW = 240_000;

interface UsesResult {
  frames: Rgba[];
  sketch: SampleImage[];
  composite: SampleImage[];
}

const session = useBrowser();
let link = '';
const results: Partial<Record<Backend, UsesResult>> = {};

function expectRealImages(images: Rgba[], what: string): void {
  const problems = images.map((image, index) => notARealImage({ ...image, level: what, index }, 32));
  expect(problems.filter(Boolean), `blank or flat ${what}`).toEqual([]);
}

/** Interpolation, then a sketch, then a composite on the sketch; the app shows level 0 with SAMPLES samples. */
async function runUses(app: AppPage, timeout: number): Promise<UsesResult> {
  const { page } = app;
  const start = await waitForGrid(app, { container: 'sample-grid', levels: [0], samples: SAMPLES, timeout });
  await page.getByTestId('interpolate-toggle').click();
  const frames = await waitForFrames(app, FRAMES, timeout);
  expectRealImages(frames, 'interpolation frames');
  // Off again, so that the source changes below do not interpolate anew.
  await page.getByTestId('interpolate-toggle').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="interp-frame"]').length === 0);

  const strokes = await drawStrokes(page, { colour: 'c82828', size: 24, x0: 40, x1: 200, ys: [60, 120, 180] });
  await waitForCommits(page, 'sketch-canvas', strokes);
  const sketch = await waitForGrid(app, {
    container: 'sample-grid',
    levels: [0],
    samples: SAMPLES,
    notFingerprint: fingerprint(start),
    timeout,
  });
  expectRealImages(sketch, 'samples of the sketch');

  await page.getByTestId('source-composite').click();
  await page
    .getByTestId('composite-input')
    .setInputFiles({ name: 'magenta.png', mimeType: 'image/png', buffer: encodePng(flatSquare(16, [230, 20, 210])) });
  await expect.poll(() => page.getByTestId('composite-apply').isEnabled(), { timeout: 30_000 }).toBe(true);
  await page.getByTestId('composite-apply').click();
  await waitForCommits(page, 'composite-canvas', 1);
  const composite = await waitForGrid(app, {
    container: 'sample-grid',
    levels: [0],
    samples: SAMPLES,
    notFingerprint: fingerprint(sketch),
    timeout,
  });
  expectRealImages(composite, 'samples of the composite');
  return { frames, sketch, composite };
}

function compareImages(a: Rgba[], b: Rgba[]): { max: number; mean: number } {
  expect(a.length).toBe(b.length);
  return {
    max: Math.max(...a.map((image, i) => maxAbsDiff(image, b[i]))),
    mean: a.reduce((sum, image, i) => sum + meanAbsDiff(image, b[i]), 0) / a.length,
  };
}

describe('the paper uses on every backend (bundled pack, level 0)', () => {
  it('wasm: the reference', async ({ annotate }) => {
    const opened = await openReadyApp(session.browser, baseUrl, { backend: 'wasm' });
    const { app } = opened;
    try {
      const grid = await selectLevel(app, await setSamples(app, opened.grid, SAMPLES), 0);
      await expect
        .poll(async () => new URL(await shareUrl(app.page)).hash === new URL(app.page.url()).hash, { timeout: 10_000 })
        .toBe(true);
      link = await shareUrl(app.page);
      results.wasm = await runUses(app, 120_000);
      expect(fingerprint(results.wasm.sketch)).not.toBe(fingerprint(grid.images));
      expectCleanConsole(app);
      await annotate(`link ${link.length} chars`);
    } finally {
      await app.close();
    }
  });

  for (const backend of ['webgl', 'webgpu'] as const) {
    it(
      `${backend} (SwiftShader): interpolation, sketch and composite agree with wasm within ${MAX_TOLERANCE}/255 (mean ${MEAN_TOLERANCE})`,
      async ({ annotate }) => {
        const reference = results.wasm;
        expect(reference, 'no wasm reference (its case failed)').toBeDefined();
        const started = Date.now();
        // Its own Chromium: a crash on one software GPU backend cannot take the other case with it.
        const own = await launchBrowser();
        try {
          const app = await openApp(own, withBackend(link, backend));
          await waitForPackReady(app, SLOW);
          const badge = await activeBackend(app.page);
          expect(badge, `forced ?backend=${backend} but the badge says "${badge}"`).toMatch(
            new RegExp(`^${backend}\\b`),
          );
          const result = await runUses(app, SLOW);
          const diffs = {
            frames: compareImages(result.frames, reference!.frames),
            sketch: compareImages(result.sketch, reference!.sketch),
            composite: compareImages(result.composite, reference!.composite),
          };
          await annotate(
            `${Object.entries(diffs)
              .map(([name, d]) => `${name} vs wasm max ${d.max}, mean ${d.mean.toFixed(3)}`)
              .join('; ')}; ${((Date.now() - started) / 1000).toFixed(0)} s`,
          );
          for (const [name, d] of Object.entries(diffs)) {
            expect(d.max, `${name}: ${backend} vs wasm, largest difference`).toBeLessThanOrEqual(MAX_TOLERANCE);
            expect(d.mean, `${name}: ${backend} vs wasm, mean difference`).toBeLessThanOrEqual(MEAN_TOLERANCE);
          }
          expect(app.pageErrors).toEqual([]);
        } finally {
          await own.close().catch(() => undefined);
        }
      },
      3 * SLOW,
    );
  }
});
