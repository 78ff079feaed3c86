// The composite editor on the bundled pack in headless Chromium (wasm): an image pasted from the clipboard onto the
// editor goes on top of the source (it does not replace it); "Re-imagine only the pasted region" keeps the source's
// features everywhere else (the samples there do not change) and drops the pasted pixels' features (inside the
// region the samples no longer depend on what was pasted), and the permalink carries that mask.
//
// At level 0 (pool1, stride 2) an output pixel of this pack depends on input pixels within about 8 px: one
// up-block and the output conv after the 1x1 injection at 16 px, two 3x3 convs and a 2x2 pool before pool1.
// Beyond MARGIN px of the pasted region the samples are therefore the same to the bit.
import { describe, expect, inject, it } from 'vitest';
import { openApp, shareUrl, waitForGrid, waitForPackReady, type AppPage } from './helpers/app';
import { useBrowser } from './helpers/browserSession';
import { SAME_TOLERANCE, expectCleanConsole, openReadyApp, selectLevel } from './helpers/flows';
import { encodePng, type Rgba } from './helpers/images';
import { diffInsideOutside, flatSquare, nudgeComposite, waitForCommits } from './helpers/paperUses';
import { compareSets, fingerprint, type SampleImage } from './helpers/pixels';

const baseUrl = inject('baseUrl');
const MARGIN = 9;
const MAGENTA: [number, number, number] = [230, 20, 210];
const session = useBrowser();

/** Mean of min(R, B) - G (how magenta) over the pixels x0 <= x < x1, y0 <= y < y1. */
function magentaness(image: Rgba, x0: number, x1: number, y0: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = (y * image.width + x) * 4;
      sum += Math.min(image.data[p], image.data[p + 2]) - image.data[p + 1];
    }
  }
  return sum / ((x1 - x0) * (y1 - y0));
}

async function waitForNewGrid(app: AppPage, previous: SampleImage[]): Promise<SampleImage[]> {
  return waitForGrid(app, {
    container: 'sample-grid',
    levels: [0],
    samples: previous.length,
    notFingerprint: fingerprint(previous),
  });
}

/** The app at level 0 (its grid: `before`) with the composite editor open on the default image. */
async function openCompositeEditor() {
  const opened = await openReadyApp(session.browser, baseUrl);
  const app = session.keep(opened.app);
  const before = await selectLevel(app, opened.grid, 0);
  await app.page.getByTestId('source-composite').click();
  return { app, page: app.page, before };
}

describe('composite editor', () => {
  it('an image pasted onto the editor goes on top of the source, and the composite changes the samples there', async ({
    annotate,
  }) => {
    const { app, page, before } = await openCompositeEditor();
    const canvas = page.getByTestId('composite-canvas');
    await canvas.focus();
    // What Ctrl+V on the focused editor dispatches: a paste event whose clipboard holds the image file.
    const reachedWindow = await canvas.evaluate(
      (element, base64) => {
        let reached = false;
        const listener = () => (reached = true);
        window.addEventListener('paste', listener);
        const transfer = new DataTransfer();
        transfer.items.add(
          new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'magenta.png', { type: 'image/png' }),
        );
        element.dispatchEvent(
          new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }),
        );
        window.removeEventListener('paste', listener);
        return reached;
      },
      encodePng(flatSquare(16, MAGENTA)).toString('base64'),
    );
    // The page-wide paste handler (which would make the pasted image the source) never saw it.
    expect(reachedWindow, 'the paste went on to the page-wide handler').toBe(false);
    await expect.poll(() => page.getByTestId('composite-apply').isEnabled(), { timeout: 30_000 }).toBe(true);
    await expect.poll(() => canvas.getAttribute('data-rect')).toBe('8,8,16,16');
    // Where the editor is after every change of the page while the composite is generated: a run starting or
    // ending must not move it under a pointer placing an image (nor the sketch canvas, nor the mask painter).
    await canvas.evaluate((element) => {
      const seen: { top: number; running: boolean }[] = [];
      (window as unknown as { __editorTops: typeof seen }).__editorTops = seen;
      const record = () =>
        seen.push({
          top: element.getBoundingClientRect().top + window.scrollY,
          running: document.querySelector('[data-testid="cancel"]') !== null,
        });
      record();
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.getByTestId('composite-apply').click();
    await waitForCommits(page, 'composite-canvas', 1);
    const images = await waitForNewGrid(app, before.images);
    const tops = await page.evaluate(
      () => (window as unknown as { __editorTops: { top: number; running: boolean }[] }).__editorTops,
    );
    expect(
      tops.some((t) => t.running),
      'no change of the page was seen while the grid ran',
    ).toBe(true);
    expect(new Set(tops.map((t) => t.top)), 'where the editor was while the composite was generated').toEqual(
      new Set([tops[0].top]),
    );
    const rect = [8, 8, 16, 16];
    const diffs = images.map((image, i) => diffInsideOutside(image, before.images[i], rect, 2));
    const gains = images.map(
      (image, i) => magentaness(image, 10, 22, 10, 22) - magentaness(before.images[i], 10, 22, 10, 22),
    );
    for (const [i, d] of diffs.entries()) {
      expect(d.inside, `sample ${i}: change inside the pasted region`).toBeGreaterThan(30);
      expect(d.inside, `sample ${i}: inside vs outside change`).toBeGreaterThan(3 * d.outside);
      expect(gains[i], `sample ${i}: min(R, B) - G in the pasted region, after - before`).toBeGreaterThan(30);
    }
    expectCleanConsole(app);
    await annotate(
      `mean |new - old| inside ${diffs.map((d) => d.inside.toFixed(0)).join(', ')}; outside ${diffs.map((d) => d.outside.toFixed(1)).join(', ')}; magenta gain ${gains.map((g) => g.toFixed(0)).join(', ')}`,
    );
  });

  it('"only the pasted region": the samples elsewhere stay as they were, the pasted pixels no longer matter inside it, and the link keeps the mask', async ({
    annotate,
  }) => {
    const { app, page, before } = await openCompositeEditor();
    /** Pastes a flat square of `rgb` in the top-left corner (model pixels 0..16) and uses the composite. */
    const pasteInCorner = async (rgb: [number, number, number], commits: number, previous: SampleImage[]) => {
      await page
        .getByTestId('composite-input')
        .setInputFiles({ name: 'square.png', mimeType: 'image/png', buffer: encodePng(flatSquare(16, rgb)) });
      await expect.poll(() => page.getByTestId('composite-canvas').getAttribute('data-rect')).toBe('8,8,16,16');
      await nudgeComposite(page, ['Shift+ArrowLeft', 'Shift+ArrowLeft', 'Shift+ArrowUp', 'Shift+ArrowUp'], '0,0,16,16');
      await page.getByTestId('composite-apply').click();
      await waitForCommits(page, 'composite-canvas', commits);
      return waitForNewGrid(app, previous);
    };
    const rect = [0, 0, 16, 16];
    // Model pixels 0..12 see only pool1 cells inside the region (cells 0..7), whose features the mask drops.
    const deepInside = [0, 0, 12, 12];

    const plain = await pasteInCorner(MAGENTA, 1, before.images);
    await page.getByTestId('composite-mask').check();
    const masked = await pasteInCorner(MAGENTA, 2, plain);
    const green = await pasteInCorner([30, 200, 40], 3, masked);
    const gains = plain.map((image, i) => magentaness(image, 1, 8, 1, 8) - magentaness(before.images[i], 1, 8, 1, 8));
    const reimagined = masked.map((image, i) => diffInsideOutside(image, plain[i], deepInside, 0).inside);
    for (const [i, image] of green.entries()) {
      for (const [name, samples] of [
        ['magenta', masked],
        ['green', green],
      ] as const) {
        const kept = diffInsideOutside(samples[i], before.images[i], rect, MARGIN);
        expect(kept.maxOutside, `sample ${i}: masked ${name} vs before, beyond ${MARGIN} px`).toBeLessThanOrEqual(
          SAME_TOLERANCE,
        );
      }
      expect(gains[i], `sample ${i}: magenta shows without the mask`).toBeGreaterThan(30);
      expect(reimagined[i], `sample ${i}: masked vs unmasked magenta, inside`).toBeGreaterThan(10);
      const ignored = diffInsideOutside(image, masked[i], deepInside, 0);
      expect(ignored.maxInside, `sample ${i}: masked green vs masked magenta, inside`).toBeLessThanOrEqual(
        SAME_TOLERANCE,
      );
    }

    const link = await shareUrl(page);
    expectCleanConsole(app);
    const fresh = session.keep(await openApp(session.browser, link));
    await waitForPackReady(fresh);
    const again = await waitForGrid(fresh, { container: 'sample-grid', levels: [0], samples: before.samples });
    const reproduced = compareSets(again, green);
    expect(reproduced.max, `the link's grid vs the original (${reproduced.worst})`).toBeLessThanOrEqual(SAME_TOLERANCE);
    expectCleanConsole(fresh);
    await annotate(
      `magenta gain without the mask ${gains.map((g) => g.toFixed(0)).join(', ')}; mean |masked - unmasked| inside ${reimagined.map((d) => d.toFixed(0)).join(', ')}; link max diff ${reproduced.max}`,
    );
  });
});
