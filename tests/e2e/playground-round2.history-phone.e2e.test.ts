// Round 2, in the built app (wasm): Back and Forward step through settled settings; mask strokes undo and redo; on
// a phone (390x844, touch) the samples are in view once an image is chosen, with the mask tools folded away.
import { describe, expect, inject, it } from 'vitest';
import { setNumber, waitForGrid } from './helpers/app';
import { fingerprint } from './helpers/pixels';
import { useRound2Browser } from './playground-round2-fixtures';

const baseUrl = inject('baseUrl');
const { readyApp } = useRound2Browser(baseUrl);

describe('playground round 2: history, mask undo, phones', () => {
  it('Back and Forward restore settled settings', async () => {
    const { app } = await readyApp();
    const seed = () => app.page.getByTestId('seed-input').inputValue();
    const pressed = (level: number) => app.page.getByTestId(`level-${level}`).getAttribute('aria-pressed');
    const firstSeed = await seed();
    const entries = await app.page.evaluate(() => history.length);
    await setNumber(app.page, 'seed-input', 11);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6 });
    await app.page.getByTestId('level-4').click();
    await waitForGrid(app, { container: 'sample-grid', levels: [4], samples: 6 });
    expect(await app.page.evaluate(() => history.length)).toBe(entries + 2);

    await app.page.goBack();
    await expect.poll(() => pressed(2)).toBe('true');
    expect(await seed()).toBe('11');
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6 });
    await app.page.goBack();
    await expect.poll(seed).toBe(firstSeed);
    await app.page.goForward();
    await expect.poll(seed).toBe('11');
    await app.page.goForward();
    await expect.poll(() => pressed(4)).toBe('true');
    expect(app.pageErrors).toEqual([]);
  });

  it('mask strokes undo and redo', async () => {
    const { app } = await readyApp();
    await app.page.getByTestId('paint-toggle').click();
    const box = (await app.page.getByTestId('mask-canvas').boundingBox())!;
    const stroke = async (from: number, to: number) => {
      await app.page.mouse.move(box.x + box.width * from, box.y + box.height * from);
      await app.page.mouse.down();
      await app.page.mouse.move(box.x + box.width * to, box.y + box.height * to, { steps: 5 });
      await app.page.mouse.up();
    };
    const enabled = (id: string) => app.page.getByTestId(id).isEnabled();
    expect(await enabled('mask-undo')).toBe(false);
    await stroke(0.2, 0.4);
    await expect.poll(() => enabled('mask-clear')).toBe(true);
    const link1 = await app.page.evaluate(() => location.hash);
    await stroke(0.6, 0.8);
    await expect.poll(() => app.page.evaluate(() => location.hash)).not.toBe(link1);
    await app.page.getByTestId('mask-undo').click();
    await expect.poll(() => app.page.evaluate(() => location.hash)).toBe(link1);
    await app.page.getByTestId('mask-undo').click();
    await expect.poll(() => enabled('mask-clear')).toBe(false);
    expect(await enabled('mask-undo')).toBe(false);
    await app.page.getByTestId('mask-redo').click();
    await expect.poll(() => app.page.evaluate(() => location.hash)).toBe(link1);
    expect(await enabled('mask-redo')).toBe(true);
  });

  it('on a 390x844 touch screen, the samples are in view once an image is chosen; mask tools are folded', async () => {
    const { app, images } = await readyApp({ viewport: { width: 390, height: 844 }, touch: true });
    expect(await app.page.getByTestId('mask-tools-fold').evaluate((d: HTMLDetailsElement) => d.open)).toBe(false);
    expect(await app.page.getByTestId('mask-undo').isVisible()).toBe(false);
    await app.page.locator('.gallery-item').nth(1).tap();
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, notFingerprint: fingerprint(images) });
    const viewport = app.page.viewportSize()!;
    const first = (await app.page.locator('[data-testid="sample-grid"] [data-testid="sample"]').first().boundingBox())!;
    expect(first.y, 'first sample above the screen').toBeGreaterThanOrEqual(0);
    expect(first.y + first.height, 'first sample below the fold').toBeLessThanOrEqual(viewport.height);
    expect(first.x + first.width).toBeLessThanOrEqual(viewport.width);
    await app.page.getByTestId('mask-tools-fold').locator('summary').tap();
    await expect.poll(() => app.page.getByTestId('mask-undo').isVisible()).toBe(true);
  });
});
