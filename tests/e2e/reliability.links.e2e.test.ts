// Reliability, permalinks: links people pass around, broken in every way, in real Chromium (WASM backend). Links that
// open the app (a fresh page) and links pasted into a running app (hashchange) must each end with a clear message
// (or a note, for a digest or pack mismatch) and the app still generating; markup in a link is text, never HTML.
import { describe, expect, inject, it } from 'vitest';
import { encodeBase64Url } from '../../src/share/base64url';
import {
  bannerText,
  describePage,
  setNumber,
  shareUrl,
  waitForGrid,
  waitForPackReady,
  type AppPage,
} from './helpers/app';
import { makePng, readFixture } from './reliability-fixtures/files';
import {
  bannerMessages,
  clearBanner,
  currentGrid,
  expectBanner,
  expectNoPageErrors,
  fingerprint,
  shareReliabilityContext,
  openReady,
  DEFAULT_PACK_DIGEST,
  type RelContext,
  waitForNextGrid,
} from './reliability-fixtures/harness';

const baseUrl = inject('baseUrl');
let rel: RelContext;
let app: AppPage;
let seed = 100;

shareReliabilityContext(async (shared) => {
  rel = shared;
  ({ app } = await openReady(rel, baseUrl));
});

const b64 = (bytes: Uint8Array) => encodeBase64Url(bytes);
const png32 = makePng(32, 32, 2, 8, (x, y) => [(x * 8) % 256, (y * 8) % 256, 128]);

/** The app keeps working: a new seed gives a new grid. */
async function stillGenerates(target: AppPage, level = 2): Promise<void> {
  const before = fingerprint(await currentGrid(target));
  await setNumber(target.page, 'seed-input', ++seed);
  await waitForNextGrid(target, before, level);
}

/** Pastes `hash` into the running app's address (a hashchange) and expects the message. */
async function pasteLink(hash: string, message: RegExp): Promise<string> {
  await clearBanner(app.page);
  const shown = await shareUrl(app.page);
  const before = fingerprint(await currentGrid(app));
  await app.page.evaluate((h) => (window.location.hash = h), hash);
  const text = await expectBanner(app, message);
  expect(text).toMatch(/This link could not be opened/);
  // Nothing of the refused link was applied, and the address shows what runs again.
  expect(fingerprint(await currentGrid(app))).toBe(before);
  expect(await app.page.evaluate(() => window.location.href)).toBe(shown);
  await stillGenerates(app);
  expectNoPageErrors(app);
  return text;
}

/** Opens a fresh page on `hash`; expects the message and then a working app. */
async function openLink(
  hash: string,
  message: RegExp,
  options: { level?: number } = {},
): Promise<{ text: string; page: AppPage }> {
  const page = await rel.open(baseUrl, { hash });
  try {
    await waitForPackReady(page);
    const text = await expectBanner(page, message);
    await waitForGrid(page, { container: 'sample-grid', levels: [options.level ?? 2], samples: 6, timeout: 30_000 });
    expectNoPageErrors(page);
    return { text, page };
  } catch (error) {
    throw new Error(`${String(error)} — ${await describePage(page.page)}`);
  }
}

const RANGE_CASES: [string, string, RegExp][] = [
  ['seed negative', 'seed=-1', /seed "-1" is negative/],
  ['seed above 2^32-1', 'seed=4294967296', /seed "4294967296" must be between 0 and 4294967295/],
  ['seed NaN', 'seed=NaN', /seed "NaN" is not a whole number/],
  ['seed huge (400 digits)', `seed=${'9'.repeat(400)}`, /seed "9{24}…" is far too large/],
  ['seed 1e9 written as 1e9', 'seed=1e9', /seed "1e9" is not a whole number/],
  ['level 7 (there are 0..6)', 'level=7', /level "7" must be between 0 and 6/],
  ['level negative', 'level=-1', /level "-1" is negative/],
  ['level NaN', 'level=NaN', /level "NaN" is not a whole number/],
  ['count 0', 'n=0', /samples per level "0" must be between 1 and 16/],
  ['count 17', 'n=17', /samples per level "17" must be between 1 and 16/],
  ['count huge', 'n=99999999999999', /samples per level "99999999999999" is far too large/],
  ['count negative', 'n=-3', /samples per level "-3" is negative/],
  ['noise above 1', 'noise=1.5', /LAG noise amplitude "1.5" must be between 0 and 1/],
  ['noise NaN', 'noise=NaN', /LAG noise amplitude "NaN" is not a number/],
  ['noise negative', 'noise=-0.1', /LAG noise amplitude "-0.1" is negative/],
  ['noise Infinity', 'noise=Infinity', /LAG noise amplitude "Infinity" is not a number/],
  ['LAG candidates 0', 'k=0', /LAG candidate count "0" must be between 1 and 16/],
  ['class not a number', 'class=cat', /class "cat" must be "auto" or a class number/],
];

describe('reliability: links pasted into a running app', () => {
  it('not base64', async ({ annotate }) => {
    await annotate(await pasteLink(`v=1&img=${'@'.repeat(40)}`, /the image is not valid base64url text/));
  });

  it('truncated (image cut short)', async ({ annotate }) => {
    const full = b64(png32);
    await annotate(
      await pasteLink(
        `v=1&img=${full.slice(0, Math.floor(full.length * 0.6))}`,
        /the image (has been cut short|ends with stray bits)/,
      ),
    );
  });

  it('unknown schema version', async ({ annotate }) => {
    await annotate(await pasteLink('v=2&seed=5', /uses schema version "2", but this app reads version 1/));
  });

  it('no schema version', async ({ annotate }) => {
    await annotate(await pasteLink('seed=5&level=3', /has no schema version/));
  });

  it('embedded image of the wrong size (16x16)', async ({ annotate }) => {
    const small = makePng(16, 16, 2, 8, () => [10, 200, 10]);
    await clearBanner(app.page);
    await app.page.evaluate(
      (h) => (window.location.hash = h),
      `v=1&digest=${DEFAULT_PACK_DIGEST}&seed=77&img=${b64(small)}`,
    );
    // The link is valid but its image does not fit the pack: the image is refused, the seed still applies.
    const text = await expectBanner(app, /its image is 16×16 but this pack works at 32×32; the image was not loaded/);
    await expect.poll(() => app.page.getByTestId('seed-input').inputValue()).toBe('77');
    await stillGenerates(app);
    await annotate(text);
  });

  it('embedded image not a PNG (JPEG bytes)', async ({ annotate }) => {
    await annotate(await pasteLink(`v=1&img=${b64(readFixture('rgb.jpg'))}`, /the image is not a PNG/));
  });

  it('embedded image not square / too large (600x600)', async ({ annotate }) => {
    await annotate(
      await pasteLink(
        `v=1&img=${b64(makePng(600, 600, 0, 8, () => [1]))}`,
        /the image is 600×600; it must be square and at most 512 px/,
      ),
    );
  });

  it('hash of several megabytes (3 MB, pasted)', async ({ annotate }) => {
    await annotate(
      await pasteLink(`v=1&img=${'A'.repeat(3_000_000)}`, /it is 2930 KB long, more than the 256 KB limit/),
    );
  });

  it('HTML and script in a link are shown as text, never run', async ({ annotate }) => {
    const hostile = 'v=1&pack=<img src=x onerror="window.__xss=1">&class=<script>window.__xss=2</script>';
    const text = await pasteLink(hostile, /pack id ".*img.*" contains characters that are not allowed/);
    const state = await app.page.evaluate(() => ({
      flag: (window as unknown as { __xss?: number }).__xss,
      injected: document.querySelectorAll(
        'img[src="x"], [data-testid="error-banner"] img, [data-testid="error-banner"] script',
      ).length,
    }));
    expect(state).toEqual({ flag: undefined, injected: 0 });
    await annotate(`${text} (flag ${state.flag}, injected elements ${state.injected})`);
  });

  it('a pack digest that is missing, empty or short: refused, so no link hides that it came from other weights', async ({
    annotate,
  }) => {
    const texts = [
      await pasteLink('v=1&seed=5', /no digest=/),
      await pasteLink('v=1&digest=&seed=5', /the pack digest is empty; a link carries all 64/),
      await pasteLink(
        `v=1&digest=${DEFAULT_PACK_DIGEST.slice(0, 16)}&seed=5`,
        /the pack digest has 16 hex digits; a link carries all 64/,
      ),
    ];
    await annotate(texts.join(' | '));
  });

  it('unknown field carrying markup', async ({ annotate }) => {
    await annotate(await pasteLink('v=1&<b>x</b>=1', /unknown field/));
  });

  for (const [name, part, message] of RANGE_CASES) {
    it(`out of range: ${name}`, async ({ annotate }) => {
      await annotate(await pasteLink(`v=1&${part}`, message));
    });
  }
});

describe('reliability: links that open the app', () => {
  it('a good link with its own image (control)', async ({ annotate }) => {
    const { page } = await openLink(`v=1&digest=${DEFAULT_PACK_DIGEST}&seed=9&level=4&img=${b64(png32)}`, /^/, {
      level: 4,
    });
    expect(await bannerText(page.page)).toBe('');
    expect(await page.page.getByTestId('seed-input').inputValue()).toBe('9');
    await stillGenerates(page, 4);
    await annotate('opened with its image at level 4, seed 9; no message');
    await page.close();
  });

  it('not base64, on open: message, then the default image runs', async ({ annotate }) => {
    const { text, page } = await openLink(`v=1&img=%%%${'!'.repeat(10)}`, /This link could not be opened/);
    await stillGenerates(page);
    await annotate(text);
    await page.close();
  });

  it('unknown pack: a note, runs with the default pack', async ({ annotate }) => {
    const { text, page } = await openLink(
      `v=1&pack=no-such-pack&digest=${DEFAULT_PACK_DIGEST}&seed=3`,
      /asked for pack "no-such-pack", which is not available; it runs with "cifar10" instead/,
    );
    await stillGenerates(page);
    await annotate(text);
    await page.close();
  });

  it('pack digest mismatch: a note, still runs', async ({ annotate }) => {
    const { text, page } = await openLink(
      `v=1&pack=cifar10&digest=${'0123456789abcdef'.repeat(4)}&seed=4`,
      /made with different weights \(digest 01234567…/,
    );
    expect(await bannerMessages(page.page)).not.toMatch(/Error/);
    await stillGenerates(page);
    await annotate(text);
    await page.close();
  });

  it('hash of 1.5 MB on open (Chromium itself refuses URLs over 2 MB)', async ({ annotate }) => {
    const { text, page } = await openLink(
      `v=1&img=${'A'.repeat(1_500_000)}`,
      /it is 1465 KB long, more than the 256 KB limit/,
    );
    await stillGenerates(page);
    await annotate(text);
    await page.close();
  });

  it('HTML in a link on open: text, never run', async ({ annotate }) => {
    const { text, page } = await openLink(
      'v=1&digest=<svg/onload=window.__xss=3>',
      /pack digest .* contains characters that are not allowed/,
    );
    expect(await page.page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.page.locator('[data-testid="error-banner"] svg').count()).toBe(0);
    await annotate(text);
    await page.close();
  });
});
