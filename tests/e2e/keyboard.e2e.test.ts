// Keyboard shortcuts in Chromium with real key events: the app's single keys (R, C, 1-7) work, and keys held with
// Ctrl/Cmd leave the browser's own shortcuts (copy, reload, tab switch) alone: no action, no preventDefault.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchBrowser, type AppPage } from './helpers/app';
import { DEFAULT_LEVEL, expectCleanConsole, openReadyApp } from './helpers/flows';

const baseUrl = inject('baseUrl');
let browser: Browser;
const open: AppPage[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const app of open) await app.close().catch(() => undefined);
  await browser?.close();
});

interface SeenKey {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  defaultPrevented: boolean;
}

describe('keyboard shortcuts (wasm)', () => {
  it('Control+C, Meta+C, Control+R and Control+1 reach the browser untouched; plain 4 still picks a level', async () => {
    const { app } = await openReadyApp(browser, baseUrl);
    open.push(app);
    const { page } = app;
    const seedBefore = await page.getByTestId('seed-input').inputValue();

    // Registered after the app's own window listener, so it sees each keydown once the app has handled it.
    await page.evaluate(() => {
      const seen: SeenKey[] = [];
      (window as unknown as { __seenKeys: SeenKey[] }).__seenKeys = seen;
      window.addEventListener('keydown', (event) => {
        seen.push({ key: event.key, ctrlKey: event.ctrlKey, metaKey: event.metaKey, defaultPrevented: event.defaultPrevented });
      });
    });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (const chord of ['Control+C', 'Meta+C', 'Control+R', 'Control+1']) await page.keyboard.press(chord);
    // Keys are handled in order: once the plain key has picked its level, the modified ones before it are done.
    await page.keyboard.press('4');
    await expect.poll(() => page.getByTestId('level-3').getAttribute('aria-pressed')).toBe('true');

    const seen = await page.evaluate(() => (window as unknown as { __seenKeys: SeenKey[] }).__seenKeys.filter((k) => k.key !== 'Control' && k.key !== 'Meta'));
    expect(seen.map((k) => [k.key.toLowerCase(), k.ctrlKey, k.metaKey, k.defaultPrevented])).toEqual([
      ['c', true, false, false],
      ['c', false, true, false],
      ['r', true, false, false],
      ['1', true, false, false],
      ['4', false, false, true],
    ]);
    expect(await page.getByTestId('compare-toggle').isChecked(), 'Ctrl/Cmd+C toggled compare').toBe(false);
    expect(await page.getByTestId('seed-input').inputValue(), 'Control+R re-rolled the seed').toBe(seedBefore);
    expect(await page.getByTestId(`level-${DEFAULT_LEVEL}`).getAttribute('aria-pressed')).toBe('false');
    expect(await page.getByTestId('level-0').getAttribute('aria-pressed'), 'Control+1 picked level 1').toBe('false');
    expectCleanConsole(app);
  });
});
