// Shared by the playground round-2 e2e files (tests/e2e/playground-round2*.e2e.test.ts): a context whose pages
// keep a handle on the engine worker (to ask it for TF.js's memory figures with the worker's `memory` message) and
// record what the pack-load progress bar and the status live region showed.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openAppIn, waitForGrid, waitForPackReady } from './helpers/app';
import { useBrowser } from './helpers/browserSession';

export interface Round2Window {
  __round2: {
    workers: Worker[];
    /** Every distinct text of the pack status line (the live region), in order. */
    statusTexts: string[];
    /** Every value the pack-load progress bar took, in order; null when it left the page. */
    progress: (number | null)[];
  };
}

/** Runs before the app in every page of the context. */
function recordPage() {
  const w = window as unknown as Round2Window;
  w.__round2 = { workers: [], statusTexts: [], progress: [] };
  const Native = window.Worker;
  window.Worker = class extends Native {
    constructor(url: string | URL, options?: WorkerOptions) {
      super(url, options);
      w.__round2.workers.push(this);
    }
  } as typeof Worker;
  const observe = () => {
    const status = document.querySelector('[data-testid="pack-status"]')?.textContent ?? null;
    if (status !== null && status !== w.__round2.statusTexts.at(-1)) w.__round2.statusTexts.push(status);
    const bar = document.querySelector<HTMLProgressElement>('[data-testid="load-progress"]');
    const value = bar ? bar.value : null;
    if (value !== w.__round2.progress.at(-1)) w.__round2.progress.push(value);
  };
  new MutationObserver(observe).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
  });
}

export interface Round2Options {
  viewport?: { width: number; height: number };
  touch?: boolean;
  colorScheme?: 'light' | 'dark';
}

export async function newRound2Context(browser: Browser, options: Round2Options = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 1000 },
    hasTouch: options.touch ?? false,
    isMobile: options.touch ?? false,
    colorScheme: options.colorScheme ?? 'light',
  });
  await context.addInitScript(recordPage);
  return context;
}

/** A page of `context` at the app on `backend` (wasm unless told). */
export const openIn = openAppIn;

/**
 * The round-2 files' browser (useBrowser) with their two steps: a new recording context, kept until the file ends,
 * and a page in one at the app with its pack ready and its first grid (level 2, 6 samples) shown.
 */
export function useRound2Browser(baseUrl: string) {
  const session = useBrowser();
  const context = async (options: Round2Options = {}) => session.keep(await newRound2Context(session.browser, options));
  const readyApp = async (options: Round2Options = {}) => {
    const created = await context(options);
    const app = await openIn(created, baseUrl);
    await waitForPackReady(app);
    const images = await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6 });
    return { app, context: created, images };
  };
  return { context, readyApp };
}

/** TF.js's tensor and byte counts in the app's engine worker (asked with the worker's own `memory` message). */
export async function workerMemory(page: Page): Promise<{ numTensors: number; numBytes: number }> {
  return page.evaluate(
    () =>
      new Promise<{ numTensors: number; numBytes: number }>((resolve) => {
        const worker = (window as unknown as Round2Window).__round2.workers.at(-1)!;
        const requestId = 3_000_000 + Math.floor(Math.random() * 1_000_000);
        const onMessage = (event: MessageEvent) => {
          const data = event.data as { type?: string; requestId?: number; numTensors: number; numBytes: number };
          if (data.type !== 'memory' || data.requestId !== requestId) return;
          worker.removeEventListener('message', onMessage);
          resolve({ numTensors: data.numTensors, numBytes: data.numBytes });
        };
        worker.addEventListener('message', onMessage);
        worker.postMessage({ type: 'memory', requestId });
      }),
  );
}

export async function recorded(page: Page): Promise<Round2Window['__round2'] & { workers: never[] }> {
  return page.evaluate(() => {
    const r = (window as unknown as Round2Window).__round2;
    return { workers: [], statusTexts: r.statusTexts.slice(), progress: r.progress.slice() };
  });
}

/** Sample canvases in each row of a grid (testid), by data-row-level, and how many cells are still pending. */
export async function rowsOf(
  page: Page,
  gridTestId: string,
): Promise<{ levels: number[]; samplesPerRow: number[]; pending: number }> {
  return page.evaluate((id) => {
    const grid = document.querySelector(`[data-testid="${id}"]`);
    const rows = Array.from(grid?.querySelectorAll<HTMLElement>('[data-row-level]') ?? []);
    return {
      levels: rows.map((row) => Number(row.dataset.rowLevel)),
      samplesPerRow: rows.map((row) => row.querySelectorAll('[data-testid="sample"]').length),
      pending: grid?.querySelectorAll('.pending').length ?? 0,
    };
  }, gridTestId);
}
