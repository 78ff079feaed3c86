// `npm start` is the README's promise: the Vite dev server (vite.config.ts, not the built site the rest of this
// suite opens) must serve a working playground on the bundled default pack. It sends its own CSP header, looser
// than the built site's only by 'unsafe-inline' for Vite's inline preamble and styles, so a change to the policy,
// the headers or the WASM thread start could break `npm start` while every test of the built site still passes.
import type { Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeBackend, launchBrowser, openApp, waitForGrid, waitForPackReady, type AppPage } from './helpers/app';

let server: ViteDevServer;
let browser: Browser;
let app: AppPage | undefined;

beforeAll(async () => {
  server = await createServer({
    configFile: 'vite.config.ts',
    logLevel: 'error',
    server: { port: 0, host: '127.0.0.1', open: false },
  });
  await server.listen();
  browser = await launchBrowser();
});

afterAll(async () => {
  await app?.close();
  await browser?.close();
  await server?.close();
});

describe('npm start (the Vite dev server)', () => {
  it('opens the playground on the default pack under its CSP header, on WASM with threads, with no violation', async ({
    annotate,
  }) => {
    const url = server.resolvedUrls?.local[0];
    expect(url, 'the dev server URL').toBeTruthy();
    const response = await fetch(url!);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'");
    expect(policy).toContain("default-src 'self'");
    expect(response.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(policy).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');

    app = await openApp(browser, url!);
    // Violations in the page, recorded from the start of every load (Vite may reload the page once after optimising
    // dependencies); the worker's own would fail its start, which the grid below would show.
    await app.context.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { __devViolations: string[] }).__devViolations = seen;
      document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await app.page.reload({ waitUntil: 'load' });
    await waitForPackReady(app, 120_000);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, timeout: 120_000 });
    const badge = await activeBackend(app.page);
    expect(badge).toMatch(/^wasm .*with simd, [2-8] threads/);
    expect(await app.page.evaluate(() => (window as unknown as { __devViolations: string[] }).__devViolations)).toEqual(
      [],
    );
    expect(app.consoleErrors.filter((m) => /Content Security Policy|Refused to/i.test(m))).toEqual([]);
    expect(app.pageErrors).toEqual([]);
    await annotate(`dev server ${url}; badge "${badge.slice(0, 60)}"`);
  });
});
