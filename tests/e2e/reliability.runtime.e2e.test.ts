// Reliability, runtime: a forced WebGPU that this Chromium does not have, the engine worker dying mid-session,
// a generation cancelled halfway, and rapid repeated clicks (no duplicate work, never a grid under settings it was
// not made with). Real Chromium, WASM backend unless said otherwise.
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { activeBackend, setNumber, waitForGrid, waitForPackReady } from './helpers/app';
import { compareSets } from './helpers/pixels';
import { goodPng } from './reliability-fixtures/files';
import {
  bannerMessages,
  clearBanner,
  currentGrid,
  expectBanner,
  expectNoPageErrors,
  fingerprint,
  shareReliabilityContext,
  openReady,
  postedTypes,
  type RelContext,
} from './reliability-fixtures/harness';

const baseUrl = inject('baseUrl');
let rel: RelContext;

shareReliabilityContext((shared) => {
  rel = shared;
});

const count = (types: string[], type: string) => types.filter((t) => t === type).length;

async function waitForPosted(page: Page, type: string, atLeast: number, timeout = 30_000): Promise<void> {
  await expect
    .poll(async () => count(await postedTypes(page), type), { timeout, message: `${type} messages posted` })
    .toBeGreaterThanOrEqual(atLeast);
}

/** Records every moment a sample of another level than the pressed level button is on screen. */
async function watchForStaleGrid(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __stale: string[] };
    w.__stale = [];
    const check = () => {
      const pressed = document
        .querySelector('[data-testid^="level-"][aria-pressed="true"]')
        ?.getAttribute('data-testid')
        ?.slice('level-'.length);
      for (const sample of document.querySelectorAll('[data-testid="sample-grid"] [data-testid="sample"]')) {
        const level = sample.getAttribute('data-level');
        if (level !== pressed) w.__stale.push(`level ${level} shown under level ${pressed}`);
      }
    };
    new MutationObserver(check).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['aria-pressed', 'data-level'],
    });
  });
}

describe('reliability: runtime', () => {
  it('WebGPU forced but unavailable (no --enable-unsafe-webgpu): a note, falls back, generates', async ({
    annotate,
  }) => {
    const app = await rel.open(baseUrl, { backend: 'webgpu' });
    await waitForPackReady(app);
    const text = await expectBanner(app, /webgpu is not available here.*running on (webgl|wasm|cpu)/);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, timeout: 90_000 });
    const backend = await activeBackend(app.page);
    expect(backend).not.toMatch(/^webgpu/);
    expectNoPageErrors(app);
    await annotate(`badge "${backend.slice(0, 60)}"; ${text}`);
    await app.close();
  });

  it('the engine worker crashes: it restarts, the settings and the grid come back, the next image works', async ({
    annotate,
  }) => {
    const { app } = await openReady(rel, baseUrl);
    await setNumber(app.page, 'seed-input', 4242);
    const before = await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, timeout: 30_000 });
    const generatesBefore = count(await postedTypes(app.page), 'generate');
    await app.page.evaluate(() => {
      const rel = (window as unknown as { __rel: { workers: Worker[] } }).__rel;
      const worker = rel.workers[rel.workers.length - 1];
      worker.terminate(); // the worker is really gone…
      worker.onerror?.(new ErrorEvent('error', { message: 'simulated crash', cancelable: true })); // …and the page is told, as a crash would
    });
    const text = await expectBanner(app, /The engine crashed \(simulated crash\) and is restarting/);
    await waitForPosted(app.page, 'generate', generatesBefore + 1);
    const after = await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, timeout: 30_000 });
    expect(
      await app.page.evaluate(() => (window as unknown as { __rel: { workers: Worker[] } }).__rel.workers.length),
    ).toBe(2);
    expect(await app.page.getByTestId('seed-input').inputValue()).toBe('4242');
    const diff = compareSets(before, after);
    expect(diff.max, `grid after the restart vs before (${diff.worst})`).toBeLessThanOrEqual(2);
    // and the next good image works on the new worker
    await app.page
      .getByTestId('file-input')
      .setInputFiles({ name: 'after-crash.png', mimeType: 'image/png', buffer: goodPng(40) });
    await waitForGrid(app, {
      container: 'sample-grid',
      levels: [2],
      samples: 6,
      notFingerprint: fingerprint(after),
      timeout: 30_000,
    });
    expectNoPageErrors(app);
    await annotate(`${text}; restarted grid max diff ${diff.max}`);
    await app.close();
  });

  it('a generation cancelled halfway (compare mode, seed changed after the first rows): no stale rows, the right grid', async ({
    annotate,
  }) => {
    const { app } = await openReady(rel, baseUrl);
    const allLevels = [0, 1, 2, 3, 4, 5, 6];
    const samples = 6;
    const shown = fingerprint(await currentGrid(app));
    await setNumber(app.page, 'seed-input', 700);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples, notFingerprint: shown, timeout: 60_000 });
    // Halfway by construction, whatever the machine's speed: the first row reaches the app, then the worker's
    // replies are held until the seed has changed, and delivered after the cancel (the old rows must be dropped).
    await app.page.evaluate(
      () => ((window as unknown as { __rel: { holdAfterRows: number } }).__rel.holdAfterRows = 1),
    );
    await app.page.getByTestId('compare-toggle').click();
    await app.page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="compare-grid"] [data-testid="sample"]').length >= n,
      samples,
      { timeout: 60_000 },
    );
    const rowsAtCancel = await app.page.evaluate(
      (n) => document.querySelectorAll('[data-testid="compare-grid"] [data-testid="sample"]').length / n,
      samples,
    );
    const cancelsBefore = count(await postedTypes(app.page), 'cancel');
    await setNumber(app.page, 'seed-input', 701);
    await waitForPosted(app.page, 'cancel', cancelsBefore + 1);
    await app.page.evaluate(() => (window as unknown as { __rel: { releaseHeld(): void } }).__rel.releaseHeld());
    const grid = await waitForGrid(app, { container: 'compare-grid', levels: allLevels, samples, timeout: 60_000 });
    const cancels = count(await postedTypes(app.page), 'cancel') - cancelsBefore;
    // The same settings again, from scratch: the grid must be the same.
    await setNumber(app.page, 'seed-input', 702);
    await waitForGrid(app, {
      container: 'compare-grid',
      levels: allLevels,
      samples,
      notFingerprint: fingerprint(grid),
      timeout: 60_000,
    });
    await setNumber(app.page, 'seed-input', 701);
    const reference = await waitForGrid(app, {
      container: 'compare-grid',
      levels: allLevels,
      samples,
      timeout: 60_000,
    });
    const diff = compareSets(grid, reference);
    expect(rowsAtCancel, 'the seed changed before the grid was complete').toBeLessThan(7);
    expect(cancels, 'the running generation was cancelled').toBeGreaterThanOrEqual(1);
    expect(diff.max, `grid after the cancel vs a fresh one (${diff.worst})`).toBeLessThanOrEqual(2);
    expectNoPageErrors(app);
    await annotate(
      `changed after ${rowsAtCancel}/7 rows; ${cancels} cancel message(s); final grid max diff ${diff.max} vs fresh`,
    );
    await app.close();
  });

  it('rapid repeated clicks: the same level 10 times is no new work; a burst over all levels never shows a stale grid and ends right', async ({
    annotate,
  }) => {
    const { app } = await openReady(rel, baseUrl);
    await clearBanner(app.page);
    await app.page.getByTestId('level-4').click();
    await waitForGrid(app, { container: 'sample-grid', levels: [4], samples: 6, timeout: 30_000 });
    const generatesBefore = count(await postedTypes(app.page), 'generate');
    for (let i = 0; i < 10; i++) await app.page.getByTestId('level-4').click({ delay: 0 });
    // A click that must generate, after them: once its request is posted, any request of the 10 would be too.
    await app.page.getByTestId('level-3').click();
    await waitForPosted(app.page, 'generate', generatesBefore + 1);
    await waitForGrid(app, { container: 'sample-grid', levels: [3], samples: 6, timeout: 30_000 });
    const duplicate = count(await postedTypes(app.page), 'generate') - generatesBefore - 1;
    expect(duplicate, 'generate requests for 10 clicks on the level already shown').toBe(0);

    await watchForStaleGrid(app.page);
    const burstStart = count(await postedTypes(app.page), 'generate');
    for (const level of [0, 1, 2, 3, 5, 6, 0, 6]) await app.page.getByTestId(`level-${level}`).click({ delay: 0 });
    const burst = await waitForGrid(app, { container: 'sample-grid', levels: [6], samples: 6, timeout: 30_000 });
    const burstGenerates = count(await postedTypes(app.page), 'generate') - burstStart;
    const stale = await app.page.evaluate(() => (window as unknown as { __stale: string[] }).__stale);
    expect(stale, 'samples shown under another level').toEqual([]);
    expect(burstGenerates, 'at most one request per click').toBeLessThanOrEqual(8);
    // Re-rolls: 10 presses of R, then the grid must be the one of the seed shown.
    for (let i = 0; i < 10; i++) await app.page.keyboard.press('r');
    const seedShown = await app.page.getByTestId('seed-input').inputValue();
    const rolled = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [6],
      samples: 6,
      notFingerprint: fingerprint(burst),
      timeout: 30_000,
    });
    await setNumber(app.page, 'seed-input', 1);
    await waitForGrid(app, {
      container: 'sample-grid',
      levels: [6],
      samples: 6,
      notFingerprint: fingerprint(rolled),
      timeout: 30_000,
    });
    await setNumber(app.page, 'seed-input', Number(seedShown));
    const reference = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [6],
      samples: 6,
      notFingerprint: undefined,
      timeout: 30_000,
    });
    const diff = compareSets(rolled, reference);
    expect(diff.max, `grid after 10 re-rolls vs a fresh grid for seed ${seedShown}`).toBeLessThanOrEqual(2);
    expect(await bannerMessages(app.page)).toBe('');
    expectNoPageErrors(app);
    await annotate(
      `10 clicks on the shown level: ${duplicate} requests; burst of 8 level clicks: ${burstGenerates} requests, 0 stale frames; 10 re-rolls end on seed ${seedShown} (max diff ${diff.max})`,
    );
    await app.close();
  });
});
