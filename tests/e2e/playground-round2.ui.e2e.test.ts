// Round 2, the display side, in the built app (wasm): help (button and ?), the single-key shortcuts setting kept
// across reloads, the backend applied by a button, axe on every mode with no serious or critical violation,
// looking closely at a sample, dark mode from the system and the toggle with sample pixels unchanged.
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { readSamples, waitForGrid, waitForPackReady } from './helpers/app';
import { fingerprint } from './helpers/pixels';
import { openIn, useRound2Browser } from './playground-round2-fixtures';

const baseUrl = inject('baseUrl');
const { readyApp } = useRound2Browser(baseUrl);

/** Serious and critical axe violations on the page as it is, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    );
}

describe('playground round 2: help, settings, accessibility, zoom, dark mode', () => {
  it('help opens from the button and from ?, explains levels, LAG, the pack and its metrics, the keys', async () => {
    const { app } = await readyApp();
    const panel = app.page.getByTestId('help-panel');
    await app.page.getByTestId('help-button').click();
    await expect.poll(() => panel.isVisible()).toBe(true);
    const text = (await panel.textContent()) ?? '';
    for (const expected of [
      'stride 2',
      'FC8',
      'near-copies of the source',
      'What LAG shows',
      'CIFAR-10',
      'How it was made',
      'class agreement',
      'Keys',
    ]) {
      expect(text, `help lacks "${expected}"`).toContain(expected);
    }
    // The default pack's metrics carry a judge block (scripts/evaluate.py): shown apart and labelled judge-graded,
    // while the rest of the metrics are labelled as not judge-graded.
    const judged = await app.page.getByTestId('help-judge').textContent();
    expect(judged).toMatch(/Graded by a separate judge model/);
    expect(judged).toMatch(/class agreement/);
    expect(await app.page.getByTestId('help-metrics').textContent()).toMatch(/not judge-graded/);
    const example = await panel
      .locator('img')
      .first()
      .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0);
    expect(example, 'the example row did not load').toBe(true);
    await app.page.keyboard.press('Escape');
    await expect.poll(() => panel.isVisible()).toBe(false);
    expect(
      await app.page.getByTestId('grid-status').textContent(),
      'Escape closing help must not stop anything',
    ).toMatch(/Generated/);
    await app.page.keyboard.press('Shift+?');
    await expect.poll(() => panel.isVisible()).toBe(true);
    await app.page.getByTestId('help-close').click();
    await expect.poll(() => panel.isVisible()).toBe(false);
    expect(app.pageErrors).toEqual([]);
  });

  it('single-key shortcuts can be turned off, and stay off after a reload', async () => {
    const { app, context } = await readyApp();
    const seed = async () => app.page.getByTestId('seed-input').inputValue();
    const before = await seed();
    await app.page.getByTestId('shortcuts-toggle').uncheck();
    await app.page.locator('body').click({ position: { x: 5, y: 5 } });
    await app.page.keyboard.press('r');
    await app.page.keyboard.press('4');
    await app.page.keyboard.press('Shift+?');
    expect(await seed(), 'R re-rolled with shortcuts off').toBe(before);
    expect(await app.page.getByTestId('level-3').getAttribute('aria-pressed')).toBe('false');
    expect(await app.page.getByTestId('help-panel').isVisible()).toBe(false);
    const again = await openIn(context, baseUrl);
    await waitForPackReady(again);
    expect(await again.page.getByTestId('shortcuts-toggle').isChecked()).toBe(false);
    await again.page.getByTestId('shortcuts-toggle').check();
    await again.page.locator('body').click({ position: { x: 5, y: 5 } });
    await again.page.keyboard.press('4');
    await expect.poll(() => again.page.getByTestId('level-3').getAttribute('aria-pressed')).toBe('true');
  });

  it('the backend choice applies with its button, not on change', async () => {
    const { app } = await readyApp();
    const url = app.page.url();
    await app.page.getByTestId('backend-select').selectOption('cpu');
    expect(app.page.url(), 'the select reloaded the page on change').toBe(url);
    await Promise.all([app.page.waitForURL(/backend=cpu/), app.page.getByTestId('backend-apply').click()]);
    await waitForPackReady(app);
    await expect.poll(() => app.page.getByTestId('backend-badge').textContent()).toMatch(/cpu/);
  });

  it('axe: no serious or critical violation in each mode, light and dark, with help and zoom open', async ({
    annotate,
  }) => {
    const { app } = await readyApp();
    const report: Record<string, string[]> = {};
    report['sp'] = await seriousViolations(app.page);
    await app.page.getByTestId('compare-toggle').check();
    // Checked while it fills in (pending cells and finished rows both present), not after: a compare grid can take
    // minutes on a loaded machine.
    await app.page.getByTestId('compare-grid').waitFor();
    report['compare'] = await seriousViolations(app.page);
    await app.page.getByTestId('compare-toggle').uncheck();
    await app.page.getByTestId('mode-select').selectOption('lag');
    await expect
      .poll(() => app.page.getByTestId('lag-view').locator('[data-testid="sample"]').count(), { timeout: 60_000 })
      .toBeGreaterThan(0);
    report['lag'] = await seriousViolations(app.page);
    await app.page.getByTestId('theme-toggle').click();
    report['lag, dark'] = await seriousViolations(app.page);
    await app.page.getByTestId('mode-select').selectOption('sp');
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6 });
    report['sp, dark'] = await seriousViolations(app.page);
    await app.page.getByTestId('help-button').click();
    report['help, dark'] = await seriousViolations(app.page);
    await app.page.keyboard.press('Escape');
    await app.page.locator('[data-testid="sample-grid"] .sample-button').first().click();
    await expect.poll(() => app.page.getByTestId('sample-zoom').isVisible()).toBe(true);
    report['zoom, dark'] = await seriousViolations(app.page);
    const failing = Object.entries(report).filter(([, v]) => v.length > 0);
    expect(failing, JSON.stringify(failing)).toEqual([]);
    await annotate(`axe clean (serious/critical) on: ${Object.keys(report).join('; ')}`);
  }, 600_000);

  it('a sample opens large, nearest or smooth, with its level, seed and index; wide screens get larger cells', async () => {
    const { app } = await readyApp({ viewport: { width: 1500, height: 1000 } });
    const cell = await app.page.locator('[data-testid="sample-grid"] [data-testid="sample"]').first().boundingBox();
    expect(cell!.width, 'sample cell on a 1500 px screen').toBeGreaterThanOrEqual(96);
    const seed = await app.page.getByTestId('seed-input').inputValue();
    await app.page.locator('[data-testid="sample-grid"] .sample-button').nth(3).click();
    const zoom = app.page.getByTestId('sample-zoom');
    await expect.poll(() => zoom.isVisible()).toBe(true);
    const caption = (await app.page.getByTestId('zoom-caption').textContent()) ?? '';
    expect(caption).toContain('stride 8');
    expect(caption).toContain(`seed ${seed}`);
    expect(caption).toContain('sample 4');
    const big = app.page.getByTestId('zoom-image');
    expect((await big.boundingBox())!.width).toBeGreaterThan(250);
    expect(await big.evaluate((e) => getComputedStyle(e).imageRendering)).toBe('pixelated');
    await app.page.getByTestId('zoom-smooth').check();
    expect(await big.evaluate((e) => getComputedStyle(e).imageRendering)).toBe('auto');
    // The enlarged canvas holds the very pixels of the sample.
    const [sample] = (await readSamples(app.page, 'sample-grid')).filter((s) => s.index === 3);
    const zoomed = await big.evaluate((c: HTMLCanvasElement) =>
      Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data),
    );
    expect(zoomed).toEqual(Array.from(sample.data));
    await app.page.keyboard.press('Escape');
    await expect.poll(() => zoom.isVisible()).toBe(false);
  });

  it('dark mode follows the system, the toggle overrides it and is kept, sample pixels stay the same', async () => {
    const { app, context, images } = await readyApp({ colorScheme: 'dark' });
    const background = () =>
      app.page.evaluate(
        () =>
          getComputedStyle(document.body).backgroundColor || getComputedStyle(document.documentElement).backgroundColor,
      );
    const rootBackground = () => app.page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(await app.page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await app.page.getByTestId('theme-toggle').getAttribute('aria-pressed')).toBe('true');
    const dark = await rootBackground();
    await app.page.getByTestId('theme-toggle').click();
    expect(await app.page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    expect(await rootBackground()).not.toBe(dark);
    await background();
    const lightImages = await readSamples(app.page, 'sample-grid');
    expect(fingerprint(lightImages), 'sample pixels changed with the theme').toBe(fingerprint(images));
    const again = await openIn(context, baseUrl);
    expect(await again.page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
  });
});
