// Packs opened from files in Chromium: the 64 px test pack (tests/fixtures/tiny64, made by scripts/export.py) opened
// as a folder and as a zip, generating 64 px samples; kept after a reload; a damaged shard, a missing shard and a
// 50 MB pack.json each refused with a message naming the problem while the pack in use keeps generating; a
// permalink to the opened pack in a fresh browser asks for it and, once it is opened, shows the same images.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  appUrl,
  bannerText,
  launchBrowser,
  openApp,
  shareUrl,
  waitForGrid,
  waitForPackReady,
  type AppPage,
} from './helpers/app';
import {
  DEFAULT_LEVEL,
  DEFAULT_SAMPLES,
  expectCleanConsole,
  openReadyApp,
  setSeed,
  type GridState,
} from './helpers/flows';
import {
  TINY64_DIGEST as PACK_DIGEST,
  TINY64_KB as PACK_KB,
  TINY64_TITLE as TITLE,
  tiny64Files,
  waitForReadyPack,
  writeTiny64Folder,
} from './helpers/packs';
import { compareSets, fingerprint } from './helpers/pixels';

let browser: Browser;
let work: string;
const dirs = { good: '', flipped: '', missing: '', huge: '', zip: '' };

/** A copy of the test pack in `work/name`, changed by `edit` (file name -> bytes; a deleted entry is left out). */
function packFolder(name: string, edit: (files: Map<string, Buffer>) => void = () => {}): string {
  return writeTiny64Folder(join(work, name), edit);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'packs-from-files-'));
  dirs.good = packFolder('tiny64');
  dirs.flipped = packFolder('tiny64-flipped', (files) => {
    const shard = Buffer.from(files.get('sp.shard1of1.bin')!);
    shard[1000] ^= 0x01;
    files.set('sp.shard1of1.bin', shard);
  });
  dirs.missing = packFolder('tiny64-missing', (files) => files.delete('lag.shard1of1.bin'));
  dirs.huge = packFolder('tiny64-huge', (files) => {
    // Still valid JSON, padded to 50 MB: only its size is wrong.
    const json = files.get('pack.json')!.toString('utf8').trimEnd();
    files.set('pack.json', Buffer.concat([Buffer.from(json), Buffer.alloc(50 * 1024 * 1024 - json.length, 0x20)]));
  });
  dirs.zip = join(work, 'tiny64.zip');
  const entries = Object.fromEntries(
    Array.from(tiny64Files(), ([file, bytes]) => [`tiny64/${file}`, new Uint8Array(bytes)]),
  );
  writeFileSync(dirs.zip, zipSync(entries));
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function statusText(page: Page): Promise<string> {
  return ((await page.getByTestId('pack-status').textContent()) ?? '').trim();
}

async function waitForBanner(app: AppPage, pattern: RegExp): Promise<string> {
  await expect.poll(() => bannerText(app.page), { timeout: 60_000, interval: 100 }).toMatch(pattern);
  return bannerText(app.page);
}

const waitFor64pxGrid = (app: AppPage, notFingerprint?: string) =>
  waitForGrid(app, { container: 'sample-grid', levels: [DEFAULT_LEVEL], samples: DEFAULT_SAMPLES, notFingerprint });

describe('packs opened from files', () => {
  let app: AppPage;
  let grid64: GridState;
  let link64 = '';

  it('opens the 64 px pack as a folder, generates 64 px samples and lists it with its size', async () => {
    const opened = await openReadyApp(browser, inject('baseUrl'));
    app = opened.app;
    const cifarTitle = (await statusText(app.page)).replace(/^Pack ready: /, '');
    await app.page.getByTestId('pack-open-folder').setInputFiles(dirs.good);
    await waitForReadyPack(app, TITLE);
    const images = await waitFor64pxGrid(app, fingerprint(opened.grid.images));
    expect(images.map((image) => [image.width, image.height])).toEqual(Array(DEFAULT_SAMPLES).fill([64, 64]));
    grid64 = { level: DEFAULT_LEVEL, samples: DEFAULT_SAMPLES, images };
    // The samples are shown at a readable size: 64 px cells are drawn 2x.
    const cellWidth = await app.page
      .locator('[data-testid="sample-grid"] [data-testid="sample"]')
      .first()
      .evaluate((e) => e.getBoundingClientRect().width);
    expect(cellWidth).toBeGreaterThanOrEqual(128);

    const list = app.page.getByTestId('pack-list');
    await app.page.locator('.kept-packs summary').click();
    await expect.poll(() => list.textContent()).toContain(TITLE);
    expect(await list.textContent()).toContain(`64 px · ${PACK_KB}`);
    const options = await app.page.getByTestId('pack-select').locator('option').allTextContents();
    expect(options).toEqual(expect.arrayContaining([cifarTitle, `${TITLE} (64 px, ${PACK_KB})`]));
    link64 = await shareUrl(app.page);
    expect(link64).toMatch(/pack=tiny64&digest=901d9186da5672db/);
  });

  it('is still there after a reload: the link in the address opens the kept pack, with the same images', async () => {
    await app.page.reload({ waitUntil: 'load' });
    await waitForReadyPack(app, TITLE);
    const images = await waitFor64pxGrid(app);
    expect(compareSets(images, grid64.images).max).toBeLessThanOrEqual(2);
    await app.page.locator('.kept-packs summary').click();
    expect(await app.page.getByTestId('pack-list').textContent()).toContain(TITLE);
  });

  it('opens the same pack as a zip after switching to the bundled pack', async () => {
    const bundled = await app.page
      .getByTestId('pack-select')
      .locator('optgroup[label="Bundled"] option')
      .first()
      .getAttribute('value');
    await app.page.getByTestId('pack-select').selectOption(bundled!);
    await waitForPackReady(app);
    expect(await statusText(app.page)).not.toContain(TITLE);
    // The image came with the link at 64 px: it is resized for the 32 px pack, which generates from it.
    const images32 = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [DEFAULT_LEVEL],
      samples: DEFAULT_SAMPLES,
    });
    expect(images32.every((image) => image.width === 32)).toBe(true);
    await app.page.getByTestId('pack-open').setInputFiles(dirs.zip);
    await waitForReadyPack(app, TITLE);
    grid64 = { ...grid64, images: await waitFor64pxGrid(app) };
    // Kept by digest: the same pack opened twice is listed once.
    expect(await app.page.getByTestId('pack-list').locator('li').count()).toBe(1);
  });

  for (const [name, key, seed, message] of [
    [
      'a shard with one flipped byte',
      'flipped',
      1001,
      /The pack "tiny64-flipped" was not opened: shard sp\.shard1of1\.bin is corrupted: sha256 [0-9a-f]{64}, pack\.json says [0-9a-f]{64}/,
    ],
    [
      'a missing shard',
      'missing',
      1002,
      /"tiny64-missing" is missing the shard lag\.shard1of1\.bin that pack\.json lists/,
    ],
    ['a 50 MB pack.json', 'huge', 1003, /pack\.json in "tiny64-huge" is 50\.0 MB; a pack\.json may be at most 1\.0 MB/],
  ] as const) {
    it(`refuses ${name} with a clear message, and the pack in use keeps working`, async () => {
      await app.page.getByTestId('pack-open-folder').setInputFiles(dirs[key]);
      const banner = await waitForBanner(app, message);
      expect(banner).toContain(`"${TITLE}" is still loaded`);
      expect(await statusText(app.page)).toBe(`Pack ready: ${TITLE}`);
      grid64 = await setSeed(app, grid64, seed);
      expect(grid64.images.every((image) => image.width === 64)).toBe(true);
      await app.page.getByRole('button', { name: 'Dismiss this message' }).first().click();
    });
  }

  it('a link to the opened pack, in a browser without it, names the pack and its digest; opening it shows the same images', async () => {
    await app.page.getByTestId('seed-input').fill('77');
    await app.page.getByTestId('seed-input').press('Tab');
    const images = await waitFor64pxGrid(app, fingerprint(grid64.images));
    const link = await shareUrl(app.page);
    expectCleanConsole(app);
    await app.close();

    const fresh = await openApp(
      browser,
      appUrl(inject('baseUrl'), { backend: 'wasm', hash: new URL(link).hash.slice(1) }),
    );
    try {
      await waitForPackReady(fresh);
      const needed = fresh.page.getByTestId('pack-needed');
      await expect
        .poll(() => needed.textContent())
        .toContain(`made with the pack "tiny64", digest ${PACK_DIGEST}, which is not here`);
      // The address keeps the link while it waits for its pack.
      expect(new URL(fresh.page.url()).hash).toBe(new URL(link).hash);
      await fresh.page.getByTestId('pack-open-needed').setInputFiles(dirs.zip);
      await waitForReadyPack(fresh, TITLE);
      const again = await waitFor64pxGrid(fresh);
      expect(compareSets(again, images).max).toBeLessThanOrEqual(2);
      expect(await needed.count()).toBe(0);
      expectCleanConsole(fresh);

      // Removed from the list, it is not offered any more.
      await fresh.page.locator('.kept-packs summary').click();
      await fresh.page
        .getByTestId('pack-list')
        .getByRole('button', { name: `Remove ${TITLE} from this browser` })
        .click();
      await expect.poll(() => fresh.page.getByTestId('pack-list').count()).toBe(0);
      expect(await statusText(fresh.page)).toBe(`Pack ready: ${TITLE}`);
    } finally {
      await fresh.close();
    }
  });
});
