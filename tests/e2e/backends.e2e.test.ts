// One compare grid (7 levels x 2 samples, our own image, fixed seed) on WASM, then the same permalink forced onto
// WebGL and WebGPU (both on SwiftShader here: slow, so the grid is small and the timeouts generous). The three
// must agree within a small tolerance; the badge must name the forced backend (no silent fallback).
import type { Browser } from 'playwright-core';
import { isSoftwareRenderer } from '../../src/engine/backend';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  activeBackend,
  appUrl,
  launchBrowser,
  openApp,
  shareUrl,
  waitForGrid,
  waitForPackReady,
  withBackend,
  type AppPage,
  type Backend,
} from './helpers/app';
import { expectCleanConsole, openReadyApp, setSamples, setSeed, uploadScene } from './helpers/flows';
import { compareSets, notARealImage, type SampleImage } from './helpers/pixels';

const baseUrl = inject('baseUrl');
const LEVELS = [0, 1, 2, 3, 4, 5, 6];
const SAMPLES = 2;
/** Cross-backend tolerance (0..255 units): float32 on every backend, different kernels and summation orders. */
const MAX_TOLERANCE = 8;
const MEAN_TOLERANCE = 0.5;
const SLOW = 240_000;

let browser: Browser;
const open: AppPage[] = [];
let link = '';
const grids: Partial<Record<Backend, SampleImage[]>> = {};

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const app of open) await app.close().catch(() => undefined);
  await browser?.close();
});

function expectRealImages(images: SampleImage[]): void {
  expect(images.map((image) => notARealImage(image, 32)).filter(Boolean), 'blank / flat samples').toEqual([]);
}

async function runForced(backend: Backend): Promise<{ images: SampleImage[]; badge: string }> {
  expect(link, 'no permalink from the wasm reference case').not.toBe('');
  // Its own Chromium: a crash on one software GPU backend cannot take the other cases with it.
  const own = await launchBrowser();
  const app = await openApp(own, withBackend(link, backend));
  open.push(app);
  try {
    await waitForPackReady(app, SLOW);
    const badge = await activeBackend(app.page);
    expect(badge, `forced ?backend=${backend} but the badge says "${badge}"`).toMatch(new RegExp(`^${backend}\\b`));
    const images = await waitForGrid(app, {
      container: 'compare-grid',
      levels: LEVELS,
      samples: SAMPLES,
      timeout: SLOW,
    });
    expectRealImages(images);
    expect(app.pageErrors).toEqual([]);
    return { images, badge };
  } finally {
    await app.close().catch(() => undefined);
    await own.close().catch(() => undefined);
  }
}

describe('backends agree (compare grid, 7 levels x 2 samples)', () => {
  it('automatic choice: a GPU backend on real GPU hardware, wasm when the GPUs are software renderers', async ({
    annotate,
  }) => {
    const app = await openApp(browser, appUrl(baseUrl));
    open.push(app);
    await waitForPackReady(app);
    const badge = await activeBackend(app.page);
    // What this browser offers, described as the engine's backend choice reads it.
    const gpus = await app.page.evaluate(async () => {
      type Adapter = { isFallbackAdapter?: boolean; info?: Record<string, unknown> };
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(o: object): Promise<Adapter | null> } }).gpu;
      const adapter = gpu ? await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null) : null;
      const info = adapter?.info ?? {};
      const webgpu = adapter
        ? {
            fallback:
              adapter.isFallbackAdapter === true ||
              info.isFallbackAdapter === true ||
              /cpu/i.test(String(info.type ?? '')),
            description: [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' '),
          }
        : null;
      const gl = document.createElement('canvas').getContext('webgl2');
      const debug = gl?.getExtension('WEBGL_debug_renderer_info');
      const renderer = gl ? String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : null;
      return { webgpu, renderer };
    });
    const hardwareWebGpu =
      gpus.webgpu !== null && !gpus.webgpu.fallback && !isSoftwareRenderer(gpus.webgpu.description);
    const hardwareWebGl = gpus.renderer !== null && !isSoftwareRenderer(gpus.renderer);
    const expected = hardwareWebGpu ? 'webgpu' : hardwareWebGl ? 'webgl' : 'wasm';
    expect(badge, `WebGPU: ${JSON.stringify(gpus.webgpu)}; WebGL renderer: ${gpus.renderer}`).toMatch(
      new RegExp(`^${expected}\\b`),
    );
    await annotate(
      `badge "${badge}"; WebGPU ${gpus.webgpu ? gpus.webgpu.description || 'unnamed' : 'none'}, WebGL ${gpus.renderer ?? 'none'}`,
    );
    await app.close();
  });

  it('wasm: reference grid and its permalink', async ({ annotate }) => {
    let { app, grid } = await openReadyApp(browser, baseUrl, { backend: 'wasm' });
    open.push(app);
    grid = await setSamples(app, grid, SAMPLES);
    grid = await uploadScene(app, grid, 'striped-kite');
    await setSeed(app, grid, 31337);
    await app.page.getByTestId('compare-toggle').click();
    const images = await waitForGrid(app, { container: 'compare-grid', levels: LEVELS, samples: SAMPLES });
    expectRealImages(images);
    await expect
      .poll(async () => new URL(await shareUrl(app.page)).hash === new URL(app.page.url()).hash, { timeout: 10_000 })
      .toBe(true);
    link = await shareUrl(app.page);
    expectCleanConsole(app);
    grids.wasm = images;
    await annotate(`${images.length} samples, link ${link.length} chars`);
    await app.close();
  });

  for (const backend of ['webgl', 'webgpu'] as const) {
    it(
      `${backend} (SwiftShader): same link, same pixels as wasm within ${MAX_TOLERANCE}/255 (mean ${MEAN_TOLERANCE})`,
      async ({ annotate }) => {
        const started = Date.now();
        const { images, badge } = await runForced(backend);
        grids[backend] = images;
        const diff = compareSets(images, grids.wasm ?? []);
        await annotate(
          `badge "${badge}"; vs wasm max ${diff.max}/255 (at ${diff.worst}), mean ${diff.mean.toFixed(3)}; ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
        expect(diff.max, `${backend} vs wasm, worst at ${diff.worst}`).toBeLessThanOrEqual(MAX_TOLERANCE);
        expect(diff.mean, `${backend} vs wasm mean abs diff`).toBeLessThanOrEqual(MEAN_TOLERANCE);
      },
      SLOW + 60_000,
    );
  }

  it('webgpu vs webgl agree too', async ({ annotate }) => {
    expect(grids.webgl, 'webgl grid missing (its case failed)').toBeDefined();
    expect(grids.webgpu, 'webgpu grid missing (its case failed)').toBeDefined();
    const diff = compareSets(grids.webgpu!, grids.webgl!);
    await annotate(`max ${diff.max}/255 (at ${diff.worst}), mean ${diff.mean.toFixed(3)}`);
    expect(diff.max).toBeLessThanOrEqual(MAX_TOLERANCE);
    expect(diff.mean).toBeLessThanOrEqual(MEAN_TOLERANCE);
  });
});
