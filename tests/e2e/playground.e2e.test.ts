// The built playground in headless Chromium on the WASM backend (the fast one on this CPU-only machine): opening
// images (file input, drag and drop, a bad file), levels, compare, LAG, download, the permalink round trip and keyboard shortcuts.
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import {
  activeBackend,
  bannerText,
  openApp,
  readSamples,
  shareUrl,
  waitForGrid,
  waitForPackReady,
  type AppPage,
} from './helpers/app';
import { useBrowser } from './helpers/browserSession';
import {
  DEFAULT_LEVEL,
  SAME_TOLERANCE,
  expectCleanConsole,
  openReadyApp,
  selectLevel,
  setSamples,
  setSeed,
  uploadPng,
  uploadScene,
} from './helpers/flows';
import { centreCropResize, encodePng, pngSize, scene } from './helpers/images';
import {
  compareSets,
  fingerprint,
  maxAbsDiff,
  meanDistanceTo,
  notARealImage,
  pairwiseDiffs,
  type SampleImage,
} from './helpers/pixels';

const baseUrl = inject('baseUrl');
const MODEL_SIZE = 32; // the default pack (models/cifar10) works on 32x32 images
const session = useBrowser();

function track<T extends { app: AppPage }>(value: T): T {
  session.keep(value.app);
  return value;
}

function expectRealImages(images: SampleImage[], size = MODEL_SIZE): void {
  const problems = images.map((image) => notARealImage(image, size)).filter((p): p is string => p !== null);
  expect(problems, 'blank / flat / unpainted samples').toEqual([]);
}

describe('playground (wasm)', () => {
  it('starts cleanly: pack ready, wasm badge, 7 level buttons, a grid of the default image, no errors', async ({
    annotate,
  }) => {
    const { app, grid } = track(await openReadyApp(session.browser, baseUrl));
    expect(await activeBackend(app.page)).toContain('wasm');
    for (let level = 0; level < 7; level++)
      await expect
        .poll(() => app.page.getByTestId(`level-${level}`).count(), { message: `level-${level} button` })
        .toBe(1);
    expectRealImages(grid.images);
    const crashed = await app.page.evaluate(
      () => document.body.innerText.match(/[^\n]*stopped working[^\n]*/)?.[0] ?? null,
    );
    expect(crashed, 'a panel replaced by its error boundary').toBeNull();
    expect(await bannerText(app.page), 'error banner on a clean start').toBe('');
    expectCleanConsole(app);
    await annotate(
      `badge "${await activeBackend(app.page)}", crossOriginIsolated=${await app.page.evaluate(() => crossOriginIsolated)}`,
    );
  });

  it('file input: our PNG gives a grid of real, varied samples that follow the image', async ({ annotate }) => {
    let { app, grid } = track(await openReadyApp(session.browser, baseUrl));
    const defaultImages = grid.images;
    grid = await setSamples(app, grid, 4);
    const boat = scene('boat-at-dusk');
    grid = await uploadPng(app, grid, encodePng(boat), 'boat-at-dusk.png');
    expect(grid.images.map((i) => i.level)).toEqual(['2', '2', '2', '2']);
    expect(grid.images.map((i) => i.index)).toEqual([0, 1, 2, 3]);
    expectRealImages(grid.images);
    const spread = pairwiseDiffs(grid.images);
    expect(spread.min, 'two samples of one level are identical').toBeGreaterThan(0);
    expect(spread.max, 'the samples barely differ').toBeGreaterThan(16);
    // The new image changed the samples (compared with the default image's first 4 samples).
    const changed = compareSets(grid.images, defaultImages.slice(0, 4));
    expect(changed.mean, 'samples did not change with the image').toBeGreaterThan(4);
    // Stride 2 keeps nearly everything: its samples are closer to our image than to another one.
    grid = await selectLevel(app, grid, 0);
    const ownDistance = meanDistanceTo(grid.images, centreCropResize(boat, MODEL_SIZE));
    const otherDistance = meanDistanceTo(grid.images, centreCropResize(scene('red-blob-on-grass'), MODEL_SIZE));
    expect(ownDistance, 'stride-2 samples are not near our image').toBeLessThan(otherDistance);
    expect(ownDistance).toBeLessThan(40);
    expectCleanConsole(app);
    await annotate(
      `level 2: pairwise max diff ${spread.min}..${spread.max}; stride 2: mean |sample-image| ${ownDistance.toFixed(1)} vs other image ${otherDistance.toFixed(1)}`,
    );
  });

  it('levels: each of level-0..level-6 gives its own real grid; stride 2 stays closer to the image than FC8', async ({
    annotate,
  }) => {
    let { app, grid } = track(await openReadyApp(session.browser, baseUrl));
    grid = await setSamples(app, grid, 3);
    const kite = scene('striped-kite');
    grid = await uploadPng(app, grid, encodePng(kite), 'kite.png');
    const byLevel: SampleImage[][] = [];
    for (const level of [0, 1, 2, 3, 4, 5, 6]) {
      grid = await selectLevel(app, grid, level);
      expect(grid.images.every((i) => i.level === String(level))).toBe(true);
      expectRealImages(grid.images);
      byLevel[level] = grid.images;
    }
    for (let a = 0; a < 7; a++) {
      for (let b = a + 1; b < 7; b++)
        expect(fingerprint(byLevel[a]) === fingerprint(byLevel[b]), `levels ${a} and ${b} gave identical grids`).toBe(
          false,
        );
    }
    const target = centreCropResize(kite, MODEL_SIZE);
    const distances = byLevel.map((images) => meanDistanceTo(images, target));
    expect(distances[0], 'stride 2 is not closer to the source than FC8').toBeLessThan(distances[6]);
    // Re-roll: a new seed in seed-input and a new grid at the same level.
    const seedBefore = await app.page.getByTestId('seed-input').inputValue();
    await app.page.getByTestId('reroll').click();
    const rerolled = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [6],
      samples: 3,
      notFingerprint: fingerprint(grid.images),
    });
    expectRealImages(rerolled);
    const seedAfter = await app.page.getByTestId('seed-input').inputValue();
    expect(seedAfter, 'reroll kept the seed').not.toBe(seedBefore);
    expectCleanConsole(app);
    await annotate(
      `mean |sample-source| per level 0..6: ${distances.map((d) => d.toFixed(1)).join(', ')}; reroll seed ${seedBefore} -> ${seedAfter}`,
    );
  });

  it('compare: 7 rows (levels 0..6) of real samples; a row equals the single-level grid of its level', async ({
    annotate,
  }) => {
    let { app, grid } = track(await openReadyApp(session.browser, baseUrl));
    grid = await setSamples(app, grid, 2);
    grid = await uploadScene(app, grid, 'red-blob-on-grass');
    grid = await setSeed(app, grid, 7);
    const single = grid.images;
    await app.page.getByTestId('compare-toggle').click();
    const compare = await waitForGrid(app, { container: 'compare-grid', levels: [0, 1, 2, 3, 4, 5, 6], samples: 2 });
    expect(new Set(compare.map((i) => i.level)).size, 'compare rows').toBe(7);
    expectRealImages(compare);
    const row = compare.filter((i) => i.level === String(DEFAULT_LEVEL));
    const same = compareSets(row, single);
    expect(
      same.max,
      `compare row ${DEFAULT_LEVEL} vs the level-${DEFAULT_LEVEL} grid (worst ${same.worst})`,
    ).toBeLessThanOrEqual(SAME_TOLERANCE);
    // Same z in every row (src/engine/README.md): sample i of the rows differ by level only, so rows are not copies.
    for (let level = 1; level < 7; level++) {
      const rowA = compare.filter((i) => i.level === String(level - 1));
      const rowB = compare.filter((i) => i.level === String(level));
      expect(maxAbsDiff(rowA[0], rowB[0]), `rows ${level - 1} and ${level} identical`).toBeGreaterThan(0);
    }
    await app.page.getByTestId('compare-toggle').click();
    const back = await waitForGrid(app, { container: 'sample-grid', levels: [DEFAULT_LEVEL], samples: 2 });
    expect(compareSets(back, single).max).toBeLessThanOrEqual(SAME_TOLERANCE);
    expectCleanConsole(app);
    await annotate(`7 rows x 2 samples; row ${DEFAULT_LEVEL} vs single-level max diff ${same.max}/255`);
  });

  it('permalink: copy it, open it in a fresh context, same settings and pixels (max diff <= 2/255)', async ({
    annotate,
  }) => {
    let { app, grid } = track(await openReadyApp(session.browser, baseUrl, { clipboard: true }));
    grid = await setSamples(app, grid, 3);
    grid = await uploadScene(app, grid, 'boat-at-dusk');
    grid = await setSeed(app, grid, 90210);
    grid = await selectLevel(app, grid, 3);
    await expect.poll(() => shareUrl(app.page), { message: 'share-url is empty' }).not.toBe('');
    // The share URL settles after the last change; wait until it matches the address bar's hash.
    await expect
      .poll(async () => new URL(await shareUrl(app.page)).hash === new URL(app.page.url()).hash, {
        message: 'share-url and the address hash differ',
        timeout: 10_000,
      })
      .toBe(true);
    await app.page.getByTestId('share-button').click();
    const link = await shareUrl(app.page);
    const copied = await app.page.evaluate(() => navigator.clipboard.readText());
    expect(copied, 'clipboard after share-button').toBe(link);
    expect(new URL(link).hash.length, 'permalink hash').toBeGreaterThan(1);

    const fresh = await openApp(session.browser, link);
    session.keep(fresh);
    await waitForPackReady(fresh);
    const reopened = await waitForGrid(fresh, { container: 'sample-grid', levels: [3], samples: 3 });
    const diff = compareSets(reopened, grid.images);
    expect(diff.max, `pixels differ (worst ${diff.worst})`).toBeLessThanOrEqual(SAME_TOLERANCE);
    expect(await fresh.page.getByTestId('level-3').getAttribute('aria-pressed')).toBe('true');
    expect(await fresh.page.getByTestId('seed-input').inputValue()).toBe('90210');
    expect(await fresh.page.getByTestId('samples-input').inputValue()).toBe('3');
    expect(await activeBackend(fresh.page)).toContain('wasm');
    expect(await bannerText(fresh.page), 'error banner after opening a good link').toBe('');
    expectCleanConsole(app);
    expectCleanConsole(fresh);
    await annotate(`link ${link.length} chars; fresh context max diff ${diff.max}/255, mean ${diff.mean.toFixed(3)}`);
  });

  it('drag and drop: a PNG drawn in the page, dropped as a real DataTransfer, gives the same grid as the file input', async ({
    annotate,
  }) => {
    let { app, grid } = track(await openReadyApp(session.browser, baseUrl));
    grid = await setSamples(app, grid, 3);
    const base64 = await app.page.evaluate(async () => {
      const canvas = new OffscreenCanvas(72, 56);
      const g = canvas.getContext('2d')!;
      const sky = g.createLinearGradient(0, 0, 0, 56);
      sky.addColorStop(0, '#1d3b8f');
      sky.addColorStop(1, '#f0a050');
      g.fillStyle = sky;
      g.fillRect(0, 0, 72, 56);
      g.fillStyle = '#2e7d32';
      g.fillRect(0, 38, 72, 18);
      g.fillStyle = '#fafafa';
      g.beginPath();
      g.arc(36, 30, 12, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#c62828';
      g.fillRect(30, 24, 12, 12);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      let binary = '';
      for (const b of bytes) binary += String.fromCharCode(b);
      return btoa(binary);
    });
    const transfer = await app.page.evaluateHandle((data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'drawn-in-page.png', { type: 'image/png' }));
      return transfer;
    }, base64);
    const zone = app.page.getByTestId('drop-zone');
    await zone.dispatchEvent('dragenter', { dataTransfer: transfer });
    await zone.dispatchEvent('dragover', { dataTransfer: transfer });
    await zone.dispatchEvent('drop', { dataTransfer: transfer });
    const dropped = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [DEFAULT_LEVEL],
      samples: 3,
      notFingerprint: fingerprint(grid.images),
    });
    expectRealImages(dropped);
    expectCleanConsole(app);

    // The same bytes through the file input in a fresh context: the same samples (same seed, level, count).
    const other = track(await openReadyApp(session.browser, baseUrl));
    other.grid = await setSamples(other.app, other.grid, 3);
    other.grid = await uploadPng(other.app, other.grid, Buffer.from(base64, 'base64'), 'drawn-in-page.png');
    const diff = compareSets(other.grid.images, dropped);
    expect(diff.max, `drop vs file input (worst ${diff.worst})`).toBeLessThanOrEqual(SAME_TOLERANCE);
    await annotate(
      `dropped ${Buffer.from(base64, 'base64').length}-byte PNG; drop vs file input max diff ${diff.max}/255`,
    );
  });

  it('bad file: text renamed .png shows error-banner; the next good image still generates', async ({ annotate }) => {
    let { app, grid } = track(await openReadyApp(session.browser, baseUrl));
    grid = await setSamples(app, grid, 3);
    const before = fingerprint(grid.images);
    await app.page.getByTestId('file-input').setInputFiles({
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('These are my notes, not a picture.\n'.repeat(20)),
    });
    await expect
      .poll(() => bannerText(app.page), { message: 'error-banner after a text file named .png', timeout: 15_000 })
      .toMatch(/\S/);
    const message = await bannerText(app.page);
    expect(message, 'the message names the file').toContain('notes.png');
    const unchanged = await readSamples(app.page, 'sample-grid');
    expect(fingerprint(unchanged), 'the previous grid was replaced by a bad file').toBe(before);
    expect(app.pageErrors).toEqual([]);

    grid = await uploadScene(app, grid, 'striped-kite');
    expectRealImages(grid.images);
    await expect
      .poll(() => bannerText(app.page), { message: 'the bad-file message stays after a good image' })
      .not.toContain('notes.png');
    await annotate(`banner: "${message.slice(0, 120)}"`);
  });

  it('LAG: real 32x32 candidates that differ; noise 0 makes them identical', async ({ annotate }) => {
    let { app, grid } = track(await openReadyApp(session.browser, baseUrl));
    grid = await uploadScene(app, grid, 'red-blob-on-grass');
    await app.page.getByTestId('mode-select').selectOption('lag');
    const countField = app.page.getByTestId('lag-candidates');
    const count = (await countField.count()) ? Number(await countField.inputValue()) : 8;
    const candidates = await waitForGrid(app, { container: null, levels: ['lag'], samples: count });
    expectRealImages(candidates);
    const spread = pairwiseDiffs(candidates);
    expect(spread.max, 'LAG candidates at noise 0.5 are all alike').toBeGreaterThan(2);
    await app.page.getByTestId('lag-noise').fill('0');
    const flat = await waitForGrid(app, {
      container: null,
      levels: ['lag'],
      samples: count,
      notFingerprint: fingerprint(candidates),
    });
    expectRealImages(flat);
    const still = pairwiseDiffs(flat);
    expect(still.max, 'candidates at noise 0 differ').toBeLessThanOrEqual(1);
    await app.page.getByTestId('mode-select').selectOption('sp');
    await waitForGrid(app, { container: 'sample-grid', levels: [grid.level], samples: grid.samples });
    expectCleanConsole(app);
    await annotate(`${count} candidates; pairwise max diff at noise 0.5: ${spread.max}, at 0: ${still.max}`);
  });

  it('download-grid saves a PNG of the grid', async ({ annotate }) => {
    const { app, grid } = track(await openReadyApp(session.browser, baseUrl));
    await setSamples(app, grid, 2);
    const [download] = await Promise.all([
      app.page.waitForEvent('download', { timeout: 30_000 }),
      app.page.getByTestId('download-grid').click(),
    ]);
    const path = await download.path();
    const bytes = readFileSync(path);
    const size = pngSize(bytes);
    expect(size.width, 'sheet width (source + 2 samples)').toBeGreaterThanOrEqual(3 * MODEL_SIZE);
    expect(size.height).toBeGreaterThanOrEqual(MODEL_SIZE);
    expect(download.suggestedFilename()).toMatch(/\.png$/);
    expectCleanConsole(app);
    await annotate(`${download.suggestedFilename()}: ${size.width}x${size.height}, ${bytes.length} bytes`);
  });
});

interface SeenKey {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  defaultPrevented: boolean;
}

// Real key events: keys held with Ctrl/Cmd leave the browser's own shortcuts (copy, reload, tab switch) alone.
describe('keyboard shortcuts (wasm)', () => {
  it('Control+C, Meta+C, Control+R and Control+1 reach the browser untouched; plain 4 still picks a level', async () => {
    const { app } = track(await openReadyApp(session.browser, baseUrl));
    const { page } = app;
    const seedBefore = await page.getByTestId('seed-input').inputValue();

    // Registered after the app's own window listener, so it sees each keydown once the app has handled it.
    await page.evaluate(() => {
      const seen: SeenKey[] = [];
      (window as unknown as { __seenKeys: SeenKey[] }).__seenKeys = seen;
      window.addEventListener('keydown', (event) => {
        seen.push({
          key: event.key,
          ctrlKey: event.ctrlKey,
          metaKey: event.metaKey,
          defaultPrevented: event.defaultPrevented,
        });
      });
    });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (const chord of ['Control+C', 'Meta+C', 'Control+R', 'Control+1']) await page.keyboard.press(chord);
    // Keys are handled in order: once the plain key has picked its level, the modified ones before it are done.
    await page.keyboard.press('4');
    await expect.poll(() => page.getByTestId('level-3').getAttribute('aria-pressed')).toBe('true');

    const seen = await page.evaluate(() =>
      (window as unknown as { __seenKeys: SeenKey[] }).__seenKeys.filter(
        (k) => k.key !== 'Control' && k.key !== 'Meta',
      ),
    );
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
