// Broken permalinks must open the app with a clear message, never a blank page: each tampered link is opened in
// a fresh context on WASM; the pack loads, error-banner explains the link problem, and the app still shows a grid.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  bannerText,
  describePage,
  launchBrowser,
  openApp,
  shareUrl,
  waitForGrid,
  waitForPackReady,
  type AppPage,
} from './helpers/app';
import { DEFAULT_LEVEL, DEFAULT_SAMPLES, openReadyApp } from './helpers/flows';
import { notARealImage } from './helpers/pixels';

const baseUrl = inject('baseUrl');
let browser: Browser;
let good = '';
const open: AppPage[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});

/** A good permalink (the app's default state with the default image), made once, inside the first test. */
async function goodLink(): Promise<string> {
  if (good) return good;
  const { app } = await openReadyApp(browser, baseUrl);
  open.push(app);
  await expect
    .poll(async () => new URL(await shareUrl(app.page)).hash.length, {
      message: 'share-url never got a hash',
      timeout: 10_000,
    })
    .toBeGreaterThan(1);
  good = await shareUrl(app.page);
  await app.close();
  return good;
}
afterAll(async () => {
  for (const app of open) await app.close().catch(() => undefined);
  await browser?.close();
});

/** Rewrites one `key=value` of the hash. */
function withParam(href: string, key: string, map: (value: string) => string): string {
  const url = new URL(href);
  const parts = url.hash.slice(1).split('&');
  const at = parts.findIndex((p) => p.startsWith(`${key}=`));
  if (at < 0) throw new Error(`the permalink has no ${key}= (${url.hash.slice(0, 120)}…)`);
  parts[at] = `${key}=${map(parts[at].slice(key.length + 1))}`;
  url.hash = parts.join('&');
  return url.toString();
}

/** Flips a run of characters in the middle of a base64url value (keeps the alphabet valid). */
function scramble(value: string): string {
  const start = Math.floor(value.length / 2);
  const swapped = Array.from(value.slice(start, start + 24), (c) => (c === 'A' ? 'B' : 'A')).join('');
  return value.slice(0, start) + swapped + value.slice(start + 24);
}

const cases: { name: string; make: (link: string) => string }[] = [
  { name: 'image bytes corrupted (img= scrambled)', make: (link) => withParam(link, 'img', scramble) },
  {
    name: 'image cut short (img= truncated to half)',
    make: (link) => withParam(link, 'img', (v) => v.slice(0, Math.floor(v.length / 2))),
  },
  { name: 'unknown format version (v=99)', make: (link) => withParam(link, 'v', () => '99') },
  { name: 'level out of range (level=42)', make: (link) => withParam(link, 'level', () => '42') },
  { name: 'not a link at all (random text)', make: (link) => `${link.split('#')[0]}#%%this-is-not/a=permalink&&&` },
];

describe('tampered permalinks', () => {
  for (const c of cases) {
    it(`${c.name}: the app opens with a message about the link`, async ({ annotate }) => {
      const app = await openApp(browser, c.make(await goodLink()));
      open.push(app);
      await waitForPackReady(app);
      await expect
        .poll(() => bannerText(app.page), {
          message: `no error-banner: ${await describePage(app.page)}`,
          timeout: 20_000,
        })
        .toMatch(/link/i);
      const message = await bannerText(app.page);
      // Not a blank page: the controls and a grid (of the link's or the default image) are there.
      expect(await app.page.getByTestId('drop-zone').isVisible()).toBe(true);
      expect(await app.page.getByTestId('level-0').isVisible()).toBe(true);
      const images = await waitForGrid(app, {
        container: 'sample-grid',
        levels: [DEFAULT_LEVEL],
        samples: DEFAULT_SAMPLES,
      });
      expect(images.map((image) => notARealImage(image, 32)).filter(Boolean)).toEqual([]);
      expect(app.pageErrors, 'uncaught exceptions').toEqual([]);
      await annotate(`banner: "${message.slice(0, 160)}"`);
      await app.close();
    });
  }
});
