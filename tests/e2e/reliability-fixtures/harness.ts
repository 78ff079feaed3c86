// Browser side of the reliability suite (tests/e2e/reliability.*.e2e.test.ts): Chromium launched without any WebGPU
// flag (the browser most visitors have), one instrumented context per group of cases, and waits on what the page
// shows. Builds on the shared e2e helpers (tests/e2e/helpers).
import { readFileSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { CHROMIUM_BASE_ARGS } from '../../../scripts/node/chromium.mjs';
import { decodeBase64Url } from '../../../src/share/base64url';
import {
  CHROMIUM,
  openAppIn,
  bannerText,
  describePage,
  readSamples,
  shareUrl,
  waitForGrid,
  waitForPackReady,
  type AppPage,
} from '../helpers/app';
import { fingerprint, type SampleImage } from '../helpers/pixels';
import { decodePng } from './files';

/** The digest of the default pack (models/cifar10), which a hand-written link must carry to be applied. */
export const DEFAULT_PACK_DIGEST: string = JSON.parse(
  readFileSync(new URL('../../../models/cifar10/pack.json', import.meta.url), 'utf8'),
).digest;

export function launchReliabilityBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_BASE_ARGS, headless: true });
}

/**
 * The one browser and context a reliability test file shares: started before its tests (in a beforeAll registered
 * here, so the file's own beforeAll hooks run after it; `ready` gets the context) and closed after them.
 */
export function shareReliabilityContext(ready: (rel: RelContext) => void | Promise<void>): void {
  let browser: Browser | undefined;
  let rel: RelContext | undefined;
  beforeAll(async () => {
    browser = await launchReliabilityBrowser();
    rel = await newRelContext(browser);
    await ready(rel);
  });
  afterAll(async () => {
    await rel?.close();
    await browser?.close();
  });
}

/**
 * Runs in every page before the app: keeps the engine workers (window.__rel.workers) and the types of the messages
 * posted to them, and records Content-Security-Policy violations. Injected by the test (CDP), so the page's CSP
 * does not apply to this script itself.
 */
function instrument() {
  type Held = { worker: Worker; data: unknown };
  const w = window as unknown as {
    __rel: {
      workers: Worker[];
      posted: string[];
      violations: string[];
      lastFeatures: string | null;
      /** When a number: that many more `row` messages reach the app, then every message from the worker is held. */
      holdAfterRows: number | null;
      held: Held[];
      releaseHeld(): void;
    };
  };
  w.__rel = {
    workers: [],
    posted: [],
    violations: [],
    lastFeatures: null,
    holdAfterRows: null,
    held: [],
    releaseHeld() {
      const held = w.__rel.held;
      w.__rel.held = [];
      w.__rel.holdAfterRows = null;
      for (const { worker, data } of held) worker.dispatchEvent(new MessageEvent('message', { data }));
    },
  };
  document.addEventListener('securitypolicyviolation', (e) =>
    w.__rel.violations.push(`${e.violatedDirective} ${e.blockedURI}`),
  );
  const Native = window.Worker;
  class Recorded extends Native {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      w.__rel.workers.push(this);
      // Registered before the app's own listener, so it can keep a reply from the app until releaseHeld().
      this.addEventListener('message', (event) => {
        const rel = w.__rel;
        if (rel.holdAfterRows === null) return;
        if (rel.holdAfterRows > 0) {
          if ((event.data as { type?: unknown } | null)?.type === 'row') rel.holdAfterRows--;
          return;
        }
        event.stopImmediatePropagation();
        rel.held.push({ worker: this, data: event.data });
      });
    }
    postMessage(message: unknown, transfer?: unknown) {
      const typed = message as { type?: unknown; featuresId?: unknown } | null;
      w.__rel.posted.push(String(typed?.type));
      if (typed?.type === 'extract') w.__rel.lastFeatures = String(typed.featuresId);
      return super.postMessage(message, transfer as Transferable[]);
    }
  }
  window.Worker = Recorded as typeof Worker;
}

/**
 * Test hooks for the GPU-loss cases, prepended to the engine worker's own script as the browser fetches it (a
 * route), so the worker keeps its real URL and its own response headers (CSP included). They keep every WebGL
 * context and WebGPU device the engine creates and answer one test message (never seen by the engine):
 * `__relArmLoss { backend }`. Once armed, the next GPU read-back loses the device right after it was issued, which
 * is the middle of a generation by construction (no timing): WebGL `readPixels` is followed by
 * WEBGL_lose_context.loseContext() (what a GPU reset does), WebGPU `mapAsync` by GPUDevice.destroy() (which
 * resolves device.lost). Each loss is reported as `__relHook { lost, contexts | devices }`.
 */
const GPU_HOOKS = `{
  const contexts = [];
  const devices = [];
  let armed = null;
  const report = (message) => self.postMessage({ type: '__relHook', ...message });
  const getContext = OffscreenCanvas.prototype.getContext;
  OffscreenCanvas.prototype.getContext = function (...args) {
    const context = getContext.apply(this, args);
    if (context && String(args[0]).startsWith('webgl')) contexts.push(context);
    return context;
  };
  if (self.WebGL2RenderingContext) {
    const readPixels = WebGL2RenderingContext.prototype.readPixels;
    WebGL2RenderingContext.prototype.readPixels = function (...args) {
      const result = readPixels.apply(this, args);
      if (armed === 'webgl') {
        armed = null;
        for (const c of contexts) c.getExtension('WEBGL_lose_context')?.loseContext();
        report({ lost: 'webgl', contexts: contexts.length });
      }
      return result;
    };
  }
  if (self.GPUAdapter) {
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await requestDevice.apply(this, args);
      devices.push(device);
      return device;
    };
    const mapAsync = GPUBuffer.prototype.mapAsync;
    GPUBuffer.prototype.mapAsync = function (...args) {
      const pending = mapAsync.apply(this, args);
      if (armed === 'webgpu') {
        armed = null;
        for (const d of devices) d.destroy();
        report({ lost: 'webgpu', devices: devices.length });
      }
      return pending;
    };
  }
  self.addEventListener('message', (event) => {
    if (event.data && event.data.type === '__relArmLoss') {
      event.stopImmediatePropagation();
      armed = event.data.backend;
      report({ armed });
    }
  });
}
`;

export interface RelContext {
  context: BrowserContext;
  /** Every URL the context requested (page, worker, fetches). */
  requests: string[];
  open(baseUrl: string, options?: { hash?: string; backend?: 'wasm' | 'webgpu' | 'webgl' | 'cpu' }): Promise<AppPage>;
  close(): Promise<void>;
}

export async function newRelContext(browser: Browser, options: { gpuHooks?: boolean } = {}): Promise<RelContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.addInitScript(instrument);
  if (options.gpuHooks) {
    await context.route(/\/assets\/worker-[\w-]+\.js$/, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: GPU_HOOKS + (await response.text()) });
    });
  }
  const requests: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  return {
    context,
    requests,
    open: (baseUrl, options = {}) => openAppIn(context, baseUrl, options),
    close: () => context.close(),
  };
}

/** The banner's messages as "Error: …" / "Note: …" lines joined by " | " ('' when there is no banner). */
export async function bannerMessages(page: Page): Promise<string> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('[data-testid="error-banner"] li'))
      .map(
        (li) =>
          `${li.querySelector('.notice-kind')?.textContent ?? ''}: ${li.querySelector('.notice-text')?.textContent ?? ''}`,
      )
      .join(' | '),
  );
}

/** Waits until the banner's text matches (errors and notes alike); returns its messages. */
export async function expectBanner(app: AppPage, pattern: RegExp, timeout = 20_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = await bannerText(app.page);
    if (pattern.test(text)) return bannerMessages(app.page);
    await app.page.waitForTimeout(100);
  }
  throw new Error(
    `banner never matched ${pattern}: banner=${JSON.stringify(text)} ${await describePage(app.page)} pageErrors=${JSON.stringify(app.pageErrors)}`,
  );
}

/** Dismisses every message in the banner (so the next case starts from a clean one). */
export async function clearBanner(page: Page): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const button = page.locator('[data-testid="error-banner"] button.dismiss').first();
    if ((await button.count()) === 0) return;
    await button.click();
  }
}

export async function currentGrid(app: AppPage, container = 'sample-grid'): Promise<SampleImage[]> {
  return readSamples(app.page, container);
}

/** The model-size input image the app is using, read back from the permalink it shows (img=…). */
export async function modelInputFromLink(
  page: Page,
): Promise<{ width: number; height: number; data: Uint8Array } | null> {
  const url = await shareUrl(page);
  const hash = url.split('#')[1] ?? '';
  const img = hash.split('&').find((part) => part.startsWith('img='));
  if (!img) return null;
  const bytes = decodeBase64Url(img.slice(4));
  if (typeof bytes === 'string') throw new Error(`share link image is not base64url (${bytes})`);
  return decodePng(bytes);
}

/** Waits until the permalink's image differs from `previous` (the app has switched to a new input). */
export async function waitForNewModelInput(
  page: Page,
  previous: string | null,
  timeout = 20_000,
): Promise<{ width: number; height: number; data: Uint8Array }> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const url = await shareUrl(page);
    const img = (url.split('#')[1] ?? '').split('&').find((part) => part.startsWith('img=')) ?? null;
    if (img && img !== previous) return (await modelInputFromLink(page))!;
    await page.waitForTimeout(100);
  }
  throw new Error(`the model input never changed: ${await describePage(page)}`);
}

export async function linkImageParam(page: Page): Promise<string | null> {
  const url = await shareUrl(page);
  return (url.split('#')[1] ?? '').split('&').find((part) => part.startsWith('img=')) ?? null;
}

/** Opens the app on wasm and waits for the first grid. */
export async function openReady(
  rel: RelContext,
  baseUrl: string,
  options: { hash?: string } = {},
): Promise<{ app: AppPage; images: SampleImage[] }> {
  const app = await rel.open(baseUrl, options);
  await waitForPackReady(app);
  const images = await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6 });
  return { app, images };
}

/** Waits for the grid (6 samples at `level`) that replaces the one whose fingerprint was `before`. */
export function waitForNextGrid(app: AppPage, before: string, level = 2): Promise<SampleImage[]> {
  return waitForGrid(app, {
    container: 'sample-grid',
    levels: [level],
    samples: 6,
    notFingerprint: before,
    timeout: 30_000,
  });
}

/** Message types posted to the engine workers so far. */
export async function postedTypes(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __rel: { posted: string[] } }).__rel.posted.slice());
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __rel: { violations: string[] } }).__rel.violations.slice());
}

export { fingerprint };
export const expectNoPageErrors = (app: AppPage) =>
  expect(app.pageErrors, 'uncaught exceptions in the page').toEqual([]);
