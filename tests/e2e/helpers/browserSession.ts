// One Chromium for an e2e file: launched before the file's tests and closed after them, together with every
// context or page the tests handed to `keep` (closing the browser would end them too, but a context closed first
// flushes its downloads and traces and cannot hang the browser's close).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchBrowser } from './app';

interface Closable {
  close(): Promise<unknown>;
}

export interface BrowserSession {
  /** The file's browser; available once its beforeAll has run (in the tests and their hooks). */
  readonly browser: Browser;
  /** Closes `thing` after the file's tests (a page or context that is gone already is skipped); returns it. */
  keep<T extends Closable>(thing: T): T;
}

/** Registers the file's beforeAll / afterAll; call at the top level of a test file. */
export function useBrowser(launch: () => Promise<Browser> = launchBrowser): BrowserSession {
  let browser: Browser | undefined;
  const kept: Closable[] = [];
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    for (const thing of kept) await thing.close().catch(() => undefined);
    await browser?.close();
  });
  return {
    get browser() {
      if (!browser) throw new Error('the browser is launched in beforeAll: use it inside tests and hooks');
      return browser;
    },
    keep(thing) {
      kept.push(thing);
      return thing;
    },
  };
}
