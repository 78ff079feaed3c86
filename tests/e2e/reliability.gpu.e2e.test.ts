// Reliability, GPU runtime: the WebGL context lost and the WebGPU device lost in the middle of a generation, in
// Chromium on SwiftShader (the e2e helpers' flags: --enable-unsafe-webgpu --enable-unsafe-swiftshader). The loss is
// caused inside the engine worker by test hooks prepended to its script (harness.ts GPU_HOOKS): armed, they lose
// the device right after the generation's read-back was issued. The app must say so, finish that generation on
// another backend (no "Generation failed"), and keep working. The WebGL case runs in a Chromium without WebGPU, so
// WASM is what is left; the WebGPU one falls back to WebGL. Grids of 2 samples keep SwiftShader's share small.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromium } from 'playwright-core';
import {
  CHROMIUM,
  activeBackend,
  launchBrowser,
  setNumber,
  waitForGrid,
  waitForPackReady,
  type AppPage,
} from './helpers/app';
import { CHROMIUM_BASE_ARGS } from '../../scripts/node/chromium.mjs';
import type { SampleImage } from './helpers/pixels';
import { goodPng } from './reliability-fixtures/files';
import {
  DEFAULT_PACK_DIGEST,
  bannerMessages,
  expectBanner,
  expectNoPageErrors,
  fingerprint,
  newRelContext,
  type RelContext,
} from './reliability-fixtures/harness';

const baseUrl = inject('baseUrl');
const SAMPLES = 2;
const contexts: RelContext[] = [];
const browsers: Browser[] = [];
afterAll(async () => {
  for (const rel of contexts) await rel.close().catch(() => undefined);
  for (const browser of browsers) await browser.close().catch(() => undefined);
});

/** Sends a message to the engine worker's hooks and resolves with their next `__relHook` report. */
function hookReport(app: AppPage, message: unknown): Promise<Record<string, unknown>> {
  return app.page.evaluate(
    (msg) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const rel = (window as unknown as { __rel: { workers: Worker[] } }).__rel;
        const worker = rel.workers[rel.workers.length - 1];
        const onMessage = (event: MessageEvent) => {
          if (event.data?.type !== '__relHook') return;
          worker.removeEventListener('message', onMessage);
          resolve(event.data);
        };
        worker.addEventListener('message', onMessage);
        if (msg) worker.postMessage(msg);
      }),
    message,
  );
}

/** TF.js's live tensor count in the engine worker (its `memory` answer). */
function engineTensors(app: AppPage): Promise<number> {
  return app.page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const rel = (window as unknown as { __rel: { workers: Worker[] } }).__rel;
        const worker = rel.workers[rel.workers.length - 1];
        const requestId = 2_000_000 + Math.floor(Math.random() * 1_000_000);
        const onMessage = (event: MessageEvent) => {
          if (event.data?.type !== 'memory' || event.data.requestId !== requestId) return;
          worker.removeEventListener('message', onMessage);
          resolve(event.data.numTensors);
        };
        worker.addEventListener('message', onMessage);
        worker.postMessage({ type: 'memory', requestId });
      }),
  );
}

/**
 * Opens the app on `backend`, waits for its first grid, arms the loss and changes the seed: the new generation's
 * read-back loses the device. Returns the grid shown before and what the hooks reported.
 */
async function loseMidGeneration(browser: Browser, backend: 'webgl' | 'webgpu') {
  const rel = await newRelContext(browser, { gpuHooks: true });
  contexts.push(rel);
  const app = await rel.open(baseUrl, { backend, hash: `v=1&digest=${DEFAULT_PACK_DIGEST}&n=${SAMPLES}` });
  await waitForPackReady(app, 120_000);
  const first = await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: SAMPLES, timeout: 120_000 });
  const badge = await activeBackend(app.page);
  expect(badge.startsWith(backend), `running on ${backend} before the loss (badge "${badge}")`).toBe(true);
  const tensorsBefore = await engineTensors(app);
  expect(await hookReport(app, { type: '__relArmLoss', backend })).toEqual({ type: '__relHook', armed: backend });
  const lost = hookReport(app, null);
  await setNumber(app.page, 'seed-input', 31337);
  const report = await lost;
  expect(report.lost).toBe(backend);
  return { app, first, report, badge, tensorsBefore };
}

/**
 * Loses `lost` mid-generation, then checks the whole recovery: the hooks saw the loss, the banner names the switch,
 * the grid finishes on `fallback` and the next image works. Returns the test's annotation.
 */
async function switchesAndKeepsWorking(
  browser: Browser,
  lost: 'webgl' | 'webgpu',
  fallback: string,
  banner: RegExp,
): Promise<string> {
  const { app, first, report, badge, tensorsBefore } = await loseMidGeneration(browser, lost);
  expect(lost === 'webgl' ? report.contexts : report.devices, `${lost} losses the hooks saw`).toBeGreaterThan(0);
  const text = await expectBanner(app, banner, 60_000);
  await finishesAndKeepsWorking(app, first, tensorsBefore);
  const after = await activeBackend(app.page);
  expect(after.startsWith(fallback), `now on ${fallback} (badge "${after}")`).toBe(true);
  return `lost on "${badge.slice(0, 40)}"; now "${after.slice(0, 40)}"; ${tensorsBefore} tensors before and after; ${text}`;
}

/** The interrupted grid finishes (new seed: not the first grid) with no error, and the next image works. */
async function finishesAndKeepsWorking(app: AppPage, first: SampleImage[], tensorsBefore: number): Promise<void> {
  const grid = await waitForGrid(app, {
    container: 'sample-grid',
    levels: [2],
    samples: SAMPLES,
    notFingerprint: fingerprint(first),
    timeout: 90_000,
  });
  expect(await app.page.getByTestId('grid-status').textContent()).toMatch(/Generated in/);
  expect(await bannerMessages(app.page), 'the interrupted generation was finished, not failed').not.toMatch(
    /^Error|\| Error|failed/i,
  );
  // Weights and features re-made on the new backend, the interrupted step's tensors freed: the same count as before.
  expect(await engineTensors(app), 'live tensors after the switch').toBe(tensorsBefore);
  await app.page
    .getByTestId('file-input')
    .setInputFiles({ name: 'after-loss.png', mimeType: 'image/png', buffer: goodPng(60) });
  await waitForGrid(app, {
    container: 'sample-grid',
    levels: [2],
    samples: SAMPLES,
    notFingerprint: fingerprint(grid),
    timeout: 90_000,
  });
  expect(await bannerMessages(app.page)).not.toMatch(/^Error|\| Error|failed/i);
  expectNoPageErrors(app);
}

describe('reliability: GPU loss', () => {
  let webGlOnly: Browser;
  let withWebGpu: Browser;
  beforeAll(async () => {
    // Without --enable-unsafe-webgpu (Linux's default): a lost WebGL context has WASM to fall back to.
    webGlOnly = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_BASE_ARGS, '--enable-unsafe-swiftshader'],
      headless: true,
    });
    browsers.push(webGlOnly);
  });

  it('WebGL context lost mid-generation: a message, the grid finishes on WASM, the next image works', async ({
    annotate,
  }) => {
    await annotate(await switchesAndKeepsWorking(webGlOnly, 'webgl', 'wasm', /Switched to wasm: WebGL context lost/i));
    await webGlOnly.close();
  });

  it('WebGPU device lost mid-generation: falls back to WebGL and finishes, the next image works', async ({
    annotate,
  }) => {
    withWebGpu = await launchBrowser();
    browsers.push(withWebGpu);
    await annotate(
      await switchesAndKeepsWorking(withWebGpu, 'webgpu', 'webgl', /Switched to webgl: WebGPU device lost/i),
    );
  });
});
