// Browser side of the e2e suite: Chromium launch, one fresh context per page, the app's test hooks, waiting for a
// finished grid and reading its pixels back from the canvases.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { existsSync } from 'node:fs';
import { CHROMIUM, CHROMIUM_ARGS } from '../../../scripts/node/chromium.mjs';
import type { SampleImage } from './pixels';
import { fingerprint } from './pixels';

export { CHROMIUM, CHROMIUM_ARGS };

export type Backend = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM=)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export interface AppPage {
  page: Page;
  context: BrowserContext;
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** console.error messages (including React's). */
  consoleErrors: string[];
  close(): Promise<void>;
}

/** The app URL with ?backend= and an optional hash (without '#'). */
export function appUrl(baseUrl: string, options: { backend?: Backend; hash?: string } = {}): string {
  const url = new URL(baseUrl);
  if (options.backend) url.searchParams.set('backend', options.backend);
  if (options.hash !== undefined) url.hash = options.hash;
  return url.toString();
}

/** Replaces ?backend= in a (permalink) URL, keeping the hash. */
export function withBackend(href: string, backend: Backend): string {
  const url = new URL(href);
  url.searchParams.set('backend', backend);
  return url.toString();
}

/** A new browser context (empty cache, storage, Cache Storage) with one page at `url`. */
export async function openApp(browser: Browser, url: string, options: { clipboard?: boolean } = {}): Promise<AppPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  if (options.clipboard)
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  const app = watchPage(page, () => context.close());
  page.on('crash', () => app.pageErrors.push('the page crashed (renderer process gone)'));
  context
    .browser()
    ?.once('disconnected', () => app.pageErrors.push('the browser disconnected (Chromium exited or was killed)'));
  await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
  return app;
}

/** The AppPage of `page`, recording its uncaught exceptions and console errors from now on. */
export function watchPage(page: Page, close: () => Promise<void>): AppPage {
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message.split('\n')[0]));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text().split('\n')[0]);
  });
  return { page, context: page.context(), pageErrors, consoleErrors, close };
}

/** A new page of `context` at the app (wasm unless told), recording its errors; closing it closes only the page. */
export async function openAppIn(
  context: BrowserContext,
  baseUrl: string,
  options: { backend?: Backend; hash?: string } = {},
): Promise<AppPage> {
  const page = await context.newPage();
  const app = watchPage(page, () => page.close());
  await page.goto(appUrl(baseUrl, { backend: options.backend ?? 'wasm', hash: options.hash }), {
    waitUntil: 'load',
    timeout: 60_000,
  });
  return app;
}

async function textOf(page: Page, testId: string): Promise<string | null> {
  const locator = page.getByTestId(testId);
  if ((await locator.count()) === 0) return null;
  return (
    (await locator
      .first()
      .textContent({ timeout: 1000 })
      .catch(() => null)) ?? ''
  )
    .replace(/\s+/g, ' ')
    .trim();
}

/** One line on what the page shows, for failure messages. */
export async function describePage(page: Page): Promise<string> {
  try {
    const parts = [
      `pack-status=${JSON.stringify(await textOf(page, 'pack-status'))}`,
      `backend-badge=${JSON.stringify(await textOf(page, 'backend-badge'))}`,
      `grid-status=${JSON.stringify(await textOf(page, 'grid-status'))}`,
      `error-banner=${JSON.stringify(await textOf(page, 'error-banner'))}`,
      `samples=${await page.locator('[data-testid="sample"]').count()}`,
    ];
    const crashed = await page.evaluate(
      () => document.body.innerText.match(/.{0,40}stopped working.{0,120}/)?.[0] ?? null,
    );
    if (crashed) parts.push(`crashed panel=${JSON.stringify(crashed)}`);
    return parts.join(' ');
  } catch (error) {
    return `(page state unavailable: ${error instanceof Error ? error.message : String(error)})`;
  }
}

/**
 * Waits until `pack-status` says "ready". Fails early, with the page's words, when the status says no pack could be
 * loaded, or when uncaught page errors have been there for `pageErrorGraceMs` without the pack becoming ready.
 */
export async function waitForPackReady(app: AppPage, timeout = 120_000, pageErrorGraceMs = 20_000): Promise<void> {
  const started = Date.now();
  let firstPageError: number | null = null;
  for (;;) {
    const status =
      (await app.page
        .getByTestId('pack-status')
        .first()
        .textContent({ timeout: 5_000 })
        .catch(() => '')) ?? '';
    if (/ready/i.test(status)) return;
    const now = Date.now();
    if (app.pageErrors.length && firstPageError === null) firstPageError = now;
    let reason: string | null = null;
    if (/no pack|error/i.test(status)) reason = 'the app reports no pack';
    else if (firstPageError !== null && now - firstPageError > pageErrorGraceMs)
      reason = `uncaught page errors for ${pageErrorGraceMs} ms`;
    else if (now - started > timeout) reason = `timeout ${timeout} ms`;
    if (app.page.isClosed()) reason = 'the page was closed (crash or browser exit)';
    if (reason) {
      throw new Error(
        `pack never became ready (${reason}): ${await describePage(app.page)} pageErrors=${JSON.stringify(app.pageErrors.slice(0, 4))}${app.pageErrors.length > 4 ? ` (+${app.pageErrors.length - 4})` : ''}`,
      );
    }
    await app.page.waitForTimeout(150);
  }
}

/** The backend the badge names (first word of its text), lower case. */
export async function activeBackend(page: Page): Promise<string> {
  const text = (await page.getByTestId('backend-badge').textContent()) ?? '';
  return text.trim().toLowerCase();
}

/** Reads every [data-testid=sample] under `container` (a data-testid; null: the whole page), sorted by level, index. */
export async function readSamples(page: Page, container: string | null): Promise<SampleImage[]> {
  const raw = await page.evaluate((containerId) => {
    const root: ParentNode | null = containerId ? document.querySelector(`[data-testid="${containerId}"]`) : document;
    if (!root) return [];
    const elements = Array.from(root.querySelectorAll<HTMLElement>('[data-testid="sample"]'));
    return elements.map((element) => {
      let width = 0;
      let height = 0;
      let pixels: Uint8ClampedArray | null = null;
      if (element instanceof HTMLCanvasElement) {
        width = element.width;
        height = element.height;
        // A canvas drawn with 2D returns its own context; a WebGL one returns null and is copied instead.
        const own = width && height ? element.getContext('2d') : null;
        if (own) pixels = own.getImageData(0, 0, width, height).data;
      } else if (element instanceof HTMLImageElement) {
        width = element.naturalWidth;
        height = element.naturalHeight;
      }
      if (!pixels && width && height) {
        const copy = document.createElement('canvas');
        copy.width = width;
        copy.height = height;
        const context = copy.getContext('2d', { willReadFrequently: true })!;
        context.drawImage(element as CanvasImageSource, 0, 0);
        pixels = context.getImageData(0, 0, width, height).data;
      }
      let binary = '';
      if (pixels) for (let i = 0; i < pixels.length; i++) binary += String.fromCharCode(pixels[i]);
      return {
        level: element.getAttribute('data-level') ?? '',
        index: Number(element.getAttribute('data-index') ?? -1),
        width,
        height,
        base64: btoa(binary),
      };
    });
  }, container);
  return raw
    .map((r) => ({
      level: r.level,
      index: r.index,
      width: r.width,
      height: r.height,
      data: new Uint8Array(Buffer.from(r.base64, 'base64')),
    }))
    .sort((a, b) => (a.level === b.level ? a.index - b.index : a.level < b.level ? -1 : 1));
}

export interface GridWait {
  /** data-testid of the grid ('sample-grid', 'compare-grid'); null for the whole page (LAG). */
  container: string | null;
  /** The data-level values expected (each with `samples` images). */
  levels: (number | 'lag')[];
  samples: number;
  /** Keep waiting while the pixels still have this fingerprint (the grid before an action). */
  notFingerprint?: string;
  timeout?: number;
}

/**
 * Waits for a complete grid (exactly levels x samples sample images, nothing pending), painted and stable over two
 * reads, and different from `notFingerprint`; returns its pixels.
 */
export async function waitForGrid(app: AppPage, wait: GridWait): Promise<SampleImage[]> {
  const { page } = app;
  const timeout = wait.timeout ?? 120_000;
  const deadline = Date.now() + timeout;
  const levels = wait.levels.map(String);
  let previous: string | null = null;
  let lastReason = 'not started';
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(
        `grid not ready after ${timeout} ms (${lastReason}; expected ${wait.container ?? 'page'} levels=${levels.join(',')} x ${wait.samples}): ${await describePage(page)} pageErrors=${JSON.stringify(app.pageErrors)}`,
      );
    }
    try {
      await page.waitForFunction(
        ({ containerId, levels, samples }) => {
          const root: ParentNode | null = containerId
            ? document.querySelector(`[data-testid="${containerId}"]`)
            : document;
          if (!root) return false;
          const elements = Array.from(root.querySelectorAll('[data-testid="sample"]'));
          if (elements.length !== levels.length * samples) return false;
          return levels.every(
            (level) => elements.filter((e) => e.getAttribute('data-level') === level).length === samples,
          );
        },
        { containerId: wait.container, levels, samples: wait.samples },
        { timeout: remaining, polling: 100 },
      );
    } catch (error) {
      // A timeout means the grid never completed; anything else (page crashed, browser gone) ends the wait now.
      if (!(error instanceof Error && error.name === 'TimeoutError') || page.isClosed()) {
        throw new Error(
          `waiting for the grid failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}; pageErrors=${JSON.stringify(app.pageErrors)}`,
        );
      }
      lastReason = 'sample count/levels never matched';
      continue;
    }
    // Canvases are painted in an effect after the commit: two frames later they are drawn.
    await page.evaluate(
      () => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 30)))),
    );
    const images = await readSamples(page, wait.container);
    const complete =
      images.length === levels.length * wait.samples &&
      levels.every((l) => images.filter((i) => i.level === l).length === wait.samples);
    const print = fingerprint(images);
    if (!complete) {
      lastReason = 'grid changed while reading';
      previous = null;
    } else if (wait.notFingerprint && print === wait.notFingerprint) {
      lastReason = 'pixels still those of the previous grid';
      previous = null;
    } else if (print !== previous) {
      lastReason = 'pixels not stable yet';
      previous = print;
    } else {
      return images;
    }
    await page.waitForTimeout(150);
  }
}

/** Sets a whole-number field (seed-input, samples-input, ...) the way a person types it. */
export async function setNumber(page: Page, testId: string, value: number): Promise<void> {
  const field = page.getByTestId(testId);
  await field.fill(String(value));
  await field.press('Tab');
}

/** The permalink shown by the app (`share-url` value or text). */
export async function shareUrl(page: Page): Promise<string> {
  const field = page.getByTestId('share-url');
  const value = await field.evaluate((element) =>
    'value' in element ? String((element as HTMLInputElement).value) : (element.textContent ?? ''),
  );
  return value.trim();
}

/** Text of the error banner, or '' when none is shown. */
export async function bannerText(page: Page): Promise<string> {
  const banner = page.getByTestId('error-banner');
  if ((await banner.count()) === 0 || !(await banner.first().isVisible())) return '';
  return ((await banner.first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
}
