// Round 2, offline and installable, in the built app: after one visit (the service worker installed and the pack
// loaded once), the app reloads with the network off, still cross-origin isolated under its CSP, loads the default
// pack from the cache and generates; the web manifest is linked; a new build is offered through the update notice.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { waitForGrid, waitForPackReady } from './helpers/app';
import { openIn, useRound2Browser } from './playground-round2-fixtures';

const baseUrl = inject('baseUrl');
const { context: newContext } = useRound2Browser(baseUrl);

describe('playground round 2: offline and installable', () => {
  it('after one visit, works with the network off: reload, pack from cache, generate', async ({ annotate }) => {
    const context = await newContext();
    const violations: string[] = [];
    const app = await openIn(context, baseUrl);
    app.page.on('console', (m) => /Content Security Policy/.test(m.text()) && violations.push(m.text()));
    await waitForPackReady(app);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6 });
    const manifest = await app.page.evaluate(async () => {
      const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
      return link ? ((await (await fetch(link.href)).json()) as { name: string; icons: unknown[] }) : null;
    });
    expect(manifest?.name).toBe('Pyramid Playground');
    expect(manifest?.icons.length).toBeGreaterThan(0);
    // The service worker has installed (every file of the build precached) and controls the page.
    await app.page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller)
        await new Promise((done) => navigator.serviceWorker.addEventListener('controllerchange', done, { once: true }));
    });

    await context.setOffline(true);
    await app.page.reload({ waitUntil: 'load' });
    await waitForPackReady(app);
    expect(await app.page.getByTestId('pack-status').textContent()).toMatch(/from cache/);
    await app.page.getByTestId('level-5').click();
    await waitForGrid(app, { container: 'sample-grid', levels: [5], samples: 6 });
    expect(await app.page.evaluate(() => crossOriginIsolated), 'isolation headers lost offline').toBe(true);
    expect(await app.page.evaluate(() => navigator.onLine)).toBe(false);
    expect(app.pageErrors).toEqual([]);
    expect(violations).toEqual([]);
    await context.setOffline(false);
    await annotate('reloaded offline: pack from cache, level-5 grid generated, crossOriginIsolated');
  });

  it('a new build offers to update, and switching reloads onto it', async () => {
    const context = await newContext();
    const app = await openIn(context, baseUrl);
    await waitForPackReady(app);
    await app.page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller)
        await new Promise((done) => navigator.serviceWorker.addEventListener('controllerchange', done, { once: true }));
    });
    // A "deploy": the served sw.js becomes a different build's worker (its version line changes); put back after.
    const swFile = join(inject('distDir'), 'sw.js');
    const original = readFileSync(swFile, 'utf8');
    writeFileSync(swFile, original.replace(/^const VERSION = "([0-9a-f]+)";/, 'const VERSION = "$1-next";'));
    onTestFinished(() => writeFileSync(swFile, original));
    await app.page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.update());
    await expect.poll(() => app.page.getByTestId('update-notice').isVisible(), { timeout: 60_000 }).toBe(true);
    await Promise.all([
      app.page.waitForEvent('load', { timeout: 60_000 }),
      app.page.getByTestId('update-reload').click(),
    ]);
    await waitForPackReady(app);
    const caches = await app.page.evaluate(() => window.caches.keys());
    expect(
      caches.filter((k) => k.startsWith('pyramid-playground-app-')).every((k) => k.endsWith('-next')),
      caches.join(','),
    ).toBe(true);
  });
});
