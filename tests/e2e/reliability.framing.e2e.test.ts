// Reliability, framing: a page of another site that puts the playground in an <iframe> gets nothing (the response's
// CSP frame-ancestors 'none', with X-Frame-Options: DENY for older browsers), so the app cannot be laid under a
// stranger's buttons. The embedding page is served by a Playwright route on an origin of its own.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchReliabilityBrowser } from './reliability-fixtures/harness';

const baseUrl = inject('baseUrl');
const EMBEDDER = 'http://embedder.invalid/';
let browser: Browser;

beforeAll(async () => {
  browser = await launchReliabilityBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('reliability: framing', () => {
  it('the app answers with frame-ancestors none and X-Frame-Options DENY', async () => {
    const response = await fetch(baseUrl);
    expect(response.headers.get('content-security-policy')).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('a page of another origin that frames the app gets an empty, refused frame', async ({ annotate }) => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await context.route(`${EMBEDDER}**`, (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<!doctype html><title>embedder</title><iframe id="app" src="${baseUrl}"></iframe>
            <script>document.getElementById('app').addEventListener('load', () => { document.title = 'frame-settled'; });</script>`,
        }),
      );
      // The e2e server also sends Cross-Origin-Resource-Policy: same-origin, which alone would keep the document out
      // of a cross-origin frame; static hosts get only scripts/node/headers.mjs's headers, so it is taken off here.
      await context.route(baseUrl, async (route) => {
        const response = await route.fetch();
        const headers = { ...response.headers() };
        delete headers['cross-origin-resource-policy'];
        await route.fulfill({ response, headers });
      });
      await page.goto(EMBEDDER);
      // The iframe's load event fires for the refused navigation too (on Chromium's error page): wait for it.
      await page.waitForFunction(() => document.title === 'frame-settled', null, { timeout: 60_000 });
      const frame = page.frames().find((f) => f !== page.mainFrame());
      expect(frame, 'the iframe').toBeTruthy();
      expect(frame!.url(), 'the frame must not hold the app').not.toMatch(/^http:\/\/127\.0\.0\.1/);
      expect(await frame!.locator('#root').count(), 'the app root inside the frame').toBe(0);
      await annotate(`the frame was left at ${frame!.url()}`);
    } finally {
      await context.close();
    }
  });
});
