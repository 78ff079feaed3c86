// Round 2, stopping and progress, in the built app: Stop (button `cancel`) and Escape stop a grid, keep only whole rows and leak no tensor in the worker; Stop aborts a pack load held in its shard
// downloads, and loading again works; the pack-load bar only moves forward, the live status names stages (never
// bytes), and a second visit says "from cache".
import type { Route } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { bannerText, setNumber, waitForGrid, waitForPackReady } from './helpers/app';
import { openIn, recorded, rowsOf, useRound2Browser, workerMemory } from './playground-round2-fixtures';

const baseUrl = inject('baseUrl');
const { context } = useRound2Browser(baseUrl);

describe('playground round 2: stop and progress', () => {
  // The largest compare grid (7 levels x 16 samples) runs in several batches even on wasm, so a stop right after the
  // first row lands mid-run on any machine; should a run still finish first, the next seed is tried (no timing).
  it('Escape and Stop stop a compare grid: whole rows only, no leaked tensor, generate again', async ({ annotate }) => {
    const app = await openIn(await context(), baseUrl);
    await waitForPackReady(app);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6 });
    await setNumber(app.page, 'samples-input', 16);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 16 });
    const before = await workerMemory(app.page);

    const stopAfterFirstRow = async (how: 'Escape' | 'button', start: () => Promise<void>) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        await start();
        await app.page.waitForFunction(
          () => document.querySelectorAll('[data-testid="compare-grid"] [data-testid="sample"]').length >= 16,
          null,
          { timeout: 120_000, polling: 20 },
        );
        if (how === 'Escape') await app.page.keyboard.press('Escape');
        else
          await app.page
            .getByTestId('cancel')
            .click({ timeout: 5_000 })
            .catch(() => undefined);
        const status = await app.page.waitForFunction(
          () =>
            /Stopped with|Generated in/.exec(
              document.querySelector('[data-testid="grid-status"]')?.textContent ?? '',
            )?.[0],
          null,
          { timeout: 60_000 },
        );
        if ((await status.jsonValue()) === 'Stopped with') return attempt;
        start = async () => {
          await app.page.keyboard.press('r');
        };
      }
      throw new Error('every run finished before the stop reached it');
    };

    const retries = await stopAfterFirstRow('Escape', () => app.page.getByTestId('compare-toggle').check());
    // The memory answer is queued behind the cancelled run in the worker: once it is here, that run has ended
    // and any late row of it has been delivered (and dropped).
    const after = await workerMemory(app.page);
    await app.page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    expect(await app.page.getByTestId('grid-status').textContent()).toMatch(/Stopped with \d+ finished rows?/);
    const rows = await rowsOf(app.page, 'compare-grid');
    expect(rows.levels.length, 'rows kept after the stop').toBeGreaterThanOrEqual(1);
    expect(rows.levels.length, 'a stop after the first row left every row').toBeLessThan(7);
    expect(
      rows.samplesPerRow.every((n) => n === 16),
      `half-drawn rows: ${rows.samplesPerRow.join(',')}`,
    ).toBe(true);
    expect(rows.pending, 'pending cells left on the screen').toBe(0);
    expect(after, 'tensors or bytes left in the worker by the stopped run').toEqual(before);
    expect(await app.page.getByTestId('cancel').count()).toBe(0);
    expect(await bannerText(app.page)).toBe('');

    await stopAfterFirstRow('button', () => app.page.getByTestId('run-again').click());
    const again = await rowsOf(app.page, 'compare-grid');
    expect(again.samplesPerRow.every((n) => n === 16) && again.pending === 0).toBe(true);
    expect(await workerMemory(app.page)).toEqual(before);
    expect(app.pageErrors).toEqual([]);
    await annotate(
      `stopped with ${rows.levels.length} and ${again.levels.length} rows (${retries} runs finished first); tensors ${before.numTensors} before and after`,
    );
  });

  it('Stop aborts a pack load held in its shard downloads; loading again works; the bar only moves forward', async ({
    annotate,
  }) => {
    const ctx = await context();
    const held: Route[] = [];
    let hold = true;
    await ctx.route(/\/models\/[^/]+\/[^/]+\.bin$/, (route) => (hold ? void held.push(route) : void route.continue()));
    const failed: string[] = [];
    ctx.on('requestfailed', (request) => failed.push(request.url()));
    const app = await openIn(ctx, baseUrl);
    await expect
      .poll(() => held.length, { timeout: 60_000, message: 'a shard request reached the held route' })
      .toBeGreaterThan(0);
    await expect.poll(() => app.page.getByTestId('pack-status').textContent()).toMatch(/Loading pack .*: download$/);
    await expect(app.page.getByTestId('load-progress').isVisible()).resolves.toBe(true);
    expect(await app.page.getByTestId('load-detail').textContent()).toMatch(/KB|MB/);
    await app.page.getByTestId('cancel').click();
    await expect.poll(() => app.page.getByTestId('pack-status').textContent()).toBe('No pack loaded');
    await expect.poll(() => app.page.getByTestId('load-again').isVisible()).toBe(true);
    expect(await bannerText(app.page), 'a stop is not an error').toBe('');
    await expect
      .poll(() => failed.some((url) => url.endsWith('.bin')), { message: 'the shard request was aborted' })
      .toBe(true);

    hold = false;
    for (const route of held) await route.continue().catch(() => undefined);
    await app.page.getByTestId('load-again').click();
    await waitForPackReady(app);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6 });
    const { statusTexts, progress } = await recorded(app.page);
    // The bar of each load (between two absences) never goes back.
    let previous = -1;
    for (const value of progress) {
      if (value === null) previous = -1;
      else {
        expect(value, `progress went back: ${progress.join(' ')}`).toBeGreaterThanOrEqual(previous);
        previous = value;
      }
    }
    expect(
      statusTexts.every((text) => !/\d\s*(KB|MB|%)/.test(text)),
      `live status with byte counts: ${statusTexts.join(' | ')}`,
    ).toBe(true);
    const stageOrder = ['reading pack.json', 'download', 'verify', 'decode', 'upload', 'warm-up'];
    const secondLoad = statusTexts
      .slice(statusTexts.lastIndexOf('No pack loaded') + 1)
      .filter((t) => t.startsWith('Loading'));
    const stages = secondLoad.map((t) => stageOrder.indexOf(t.split(': ')[1]));
    expect(
      stages.every((s) => s >= 0),
      `unnamed stages: ${secondLoad.join(' | ')}`,
    ).toBe(true);
    expect(stages, 'stages out of order').toEqual([...stages].sort((a, b) => a - b));
    expect(new Set(stages).size, 'a stage announced twice').toBe(stages.length);
    expect(stages).toContain(stageOrder.indexOf('download'));

    // A second visit reads the shards from the pack cache and says so.
    const second = await openIn(ctx, baseUrl);
    await waitForPackReady(second);
    expect(await second.page.getByTestId('pack-status').textContent()).toMatch(/ready.*\(from cache\)/);
    await annotate(`live status: ${statusTexts.join(' | ')}; ${progress.filter((p) => p !== null).length} bar values`);
  });
});
