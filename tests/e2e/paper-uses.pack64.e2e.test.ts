// The paper's other uses on an opened 64 px pack (tests/fixtures/tiny64, random weights), in headless Chromium
// (wasm). Random weights make no photo, so what is asserted is what any weights must give: 64 px samples that are
// not blank, changes only where the input changed, gradual interpolation frames, links that reproduce the pixels.
//
// Locality: at level 0 the generator sees only pool1 features (stride 2), injected 1x1 at 32 px and followed by one
// up-block and the output conv (3x3 convs at 64 px), and pool1 sees the image through two 3x3 convs and a 2x2 pool.
// An output pixel so depends on input pixels within about 8 px, so beyond MARGIN px of a change the samples are
// the same to the bit, not merely close; and with the composite mask, deeper than MARGIN inside the pasted region
// they do not depend on what was pasted. Random weights give low-contrast samples (a change of the input moves them
// by a mean of 2 to 3 units of 255), so "changed" is a mean change above 1 and "unchanged" a largest change of at
// most SAME_TOLERANCE.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openApp, shareUrl, waitForGrid, waitForPackReady, type AppPage } from './helpers/app';
import { useBrowser } from './helpers/browserSession';
import { SAME_TOLERANCE, expectCleanConsole, openReadyApp, selectLevel, type GridState } from './helpers/flows';
import { encodePng } from './helpers/images';
import { TINY64_DIGEST, openPackFolder, writeTiny64Folder } from './helpers/packs';
import {
  diffInsideOutside,
  drawStrokes,
  expectGradualFrames,
  flatSquare,
  nudgeComposite,
  waitForCommits,
  waitForFrames,
} from './helpers/paperUses';
import { compareSets, fingerprint, maxAbsDiff, notARealImage, type SampleImage } from './helpers/pixels';

const baseUrl = inject('baseUrl');
const SIZE = 64;
/** Pixels beyond which a change of the input cannot reach a level-0 sample (see the receptive field above). */
const MARGIN = 10;
const session = useBrowser();
let work: string;
let packDir: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'paper-uses-64-'));
  packDir = writeTiny64Folder(join(work, 'tiny64'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The app with the 64 px pack opened from its folder, showing its first grid (default level and samples). */
async function open64(): Promise<{ app: AppPage; grid: GridState }> {
  const opened = await openReadyApp(session.browser, baseUrl);
  session.keep(opened.app);
  await openPackFolder(opened.app, packDir);
  const images = await waitForGrid(opened.app, {
    container: 'sample-grid',
    levels: [opened.grid.level],
    samples: opened.grid.samples,
    notFingerprint: fingerprint(opened.grid.images),
  });
  expectRealSamples(images);
  return { app: opened.app, grid: { ...opened.grid, images } };
}

function expectRealSamples(images: SampleImage[]): void {
  expect(images.map((image) => notARealImage(image, SIZE)).filter(Boolean), 'blank or mis-sized samples').toEqual([]);
}

/** A link opened in a fresh context: it asks for the 64 px pack, which is opened from the folder. */
async function openLinkWithPack(link: string): Promise<AppPage> {
  const fresh = await openApp(session.browser, link);
  session.keep(fresh);
  await waitForPackReady(fresh);
  await expect.poll(() => fresh.page.getByTestId('pack-needed').textContent()).toContain(TINY64_DIGEST);
  await openPackFolder(fresh, packDir, { input: 'pack-open-folder-needed' });
  return fresh;
}

describe('the paper uses on an opened 64 px pack', () => {
  it('sketch: strokes give 64 px samples that are not blank and change only where the strokes are', async ({
    annotate,
  }) => {
    const opened = await open64();
    const { app } = opened;
    const grid = await selectLevel(app, opened.grid, 0);
    // A white drawing first: the samples the strokes are compared with.
    await app.page.getByTestId('source-sketch').click();
    await app.page.getByTestId('sketch-clear').click();
    await waitForCommits(app.page, 'sketch-canvas', 1);
    const white = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [0],
      samples: grid.samples,
      notFingerprint: fingerprint(grid.images),
    });
    // Sketch x 6..154, y 16..232 (48 px brush): model pixels x 1.5..38.5, y 4..58.
    const strokes = await drawStrokes(app.page, {
      colour: '285ac8',
      size: 48,
      x0: 30,
      x1: 130,
      ys: [40, 64, 88, 112, 136, 160, 184, 208],
    });
    await waitForCommits(app.page, 'sketch-canvas', 1 + strokes);
    const drawn = await waitForGrid(app, {
      container: 'sample-grid',
      levels: [0],
      samples: grid.samples,
      notFingerprint: fingerprint(white),
    });
    expectRealSamples(drawn);
    const strokeRect = [1, 4, 38, 54];
    const diffs = drawn.map((image, i) => diffInsideOutside(image, white[i], strokeRect, MARGIN));
    for (const [i, d] of diffs.entries()) {
      expect(d.inside, `sample ${i}: change under the strokes`).toBeGreaterThan(1);
      expect(d.maxOutside, `sample ${i}: change right of the strokes`).toBeLessThanOrEqual(SAME_TOLERANCE);
    }
    expectCleanConsole(app);
    await annotate(
      `mean |drawn - white| under the strokes ${diffs.map((d) => d.inside.toFixed(1)).join(', ')}; max beyond ${MARGIN} px ${Math.max(...diffs.map((d) => d.maxOutside))}`,
    );
  });

  it('composite: the samples change where the image was pasted and nowhere else; with "only the pasted region" the pasted pixels do not matter there, and the link carries the mask', async ({
    annotate,
  }) => {
    const opened = await open64();
    const { app } = opened;
    const { page } = app;
    const before = await selectLevel(app, opened.grid, 0);
    await page.getByTestId('source-composite').click();
    const paste = async (name: string, rgb: [number, number, number], commits: number, previous: SampleImage[]) => {
      await page
        .getByTestId('composite-input')
        .setInputFiles({ name, mimeType: 'image/png', buffer: encodePng(flatSquare(16, rgb)) });
      // Placed at the centre at half the width, then moved up and left by 8 px.
      await expect.poll(() => page.getByTestId('composite-canvas').getAttribute('data-rect')).toBe('16,16,32,32');
      await nudgeComposite(page, ['Shift+ArrowLeft', 'Shift+ArrowLeft', 'Shift+ArrowUp', 'Shift+ArrowUp'], '8,8,32,32');
      await page.getByTestId('composite-apply').click();
      await waitForCommits(page, 'composite-canvas', commits);
      return waitForGrid(app, {
        container: 'sample-grid',
        levels: [0],
        samples: before.samples,
        notFingerprint: fingerprint(previous),
      });
    };
    const rect = [8, 8, 32, 32];

    const pasted = await paste('magenta.png', [230, 20, 210], 1, before.images);
    expectRealSamples(pasted);
    const plain = pasted.map((image, i) => diffInsideOutside(image, before.images[i], rect, MARGIN));
    for (const [i, d] of plain.entries()) {
      expect(d.inside, `sample ${i}: change inside the pasted region`).toBeGreaterThan(1);
      expect(d.maxOutside, `sample ${i}: change beyond ${MARGIN} px of it`).toBeLessThanOrEqual(SAME_TOLERANCE);
    }

    // The same magenta again with the mask: the rest keeps the source's features (samples there unchanged), the
    // region itself is re-imagined from its surroundings (no longer what the magenta's features gave).
    await page.getByTestId('composite-mask').check();
    const masked = await paste('magenta.png', [230, 20, 210], 2, pasted);
    expectRealSamples(masked);
    const reimagined = masked.map((image, i) => diffInsideOutside(image, pasted[i], rect, MARGIN));
    for (const [i, d] of reimagined.entries()) {
      expect(d.inside, `sample ${i}: masked vs unmasked inside the region`).toBeGreaterThan(1);
      expect(d.maxOutside, `sample ${i}: masked vs unmasked beyond the region`).toBeLessThanOrEqual(SAME_TOLERANCE);
    }
    // Green instead of magenta, masked: inside the region (away from its edges) the samples are the same.
    const green = await paste('green.png', [30, 200, 40], 3, masked);
    const ignored = green.map((image, i) => diffInsideOutside(image, masked[i], rect, MARGIN));
    for (const [i, d] of ignored.entries()) {
      expect(d.maxInside, `sample ${i}: green vs magenta inside the masked region`).toBeLessThanOrEqual(SAME_TOLERANCE);
      expect(d.maxOutside, `sample ${i}: green vs magenta beyond it`).toBeLessThanOrEqual(SAME_TOLERANCE);
    }

    const link = await shareUrl(page);
    expectCleanConsole(app);
    const fresh = await openLinkWithPack(link);
    const again = await waitForGrid(fresh, { container: 'sample-grid', levels: [0], samples: before.samples });
    const reproduced = compareSets(again, green);
    expect(reproduced.max, `the link's grid vs the original (${reproduced.worst})`).toBeLessThanOrEqual(SAME_TOLERANCE);
    expectCleanConsole(fresh);
    await annotate(
      `mean |pasted - before| inside ${plain.map((d) => d.inside.toFixed(1)).join(', ')}; masked vs unmasked inside ${reimagined.map((d) => d.inside.toFixed(1)).join(', ')}; link max diff ${reproduced.max}`,
    );
  });

  it('interpolation: 64 px frames change gradually from the first sample; the link reproduces them in a fresh browser', async ({
    annotate,
  }) => {
    const { app, grid } = await open64();
    await app.page.getByTestId('interpolate-toggle').click();
    const frames = await waitForFrames(app, 8);
    expect(frames.map((frame) => [frame.width, frame.height])).toEqual(Array(8).fill([SIZE, SIZE]));
    const { adjacent, endpoints } = expectGradualFrames(frames, grid.images[0], 1);

    const link = await shareUrl(app.page);
    expect(link).toMatch(/interp=1/);
    expect(link).toMatch(/pack=tiny64/);
    expectCleanConsole(app);
    const fresh = await openLinkWithPack(link);
    const reproduced = await waitForFrames(fresh, 8);
    const worst = Math.max(...reproduced.map((frame, i) => maxAbsDiff(frame, frames[i])));
    expect(worst, 'frames from the link vs the original').toBeLessThanOrEqual(SAME_TOLERANCE);
    expectCleanConsole(fresh);
    await annotate(
      `mean |frame i - frame i+1| ${adjacent.map((d) => d.toFixed(2)).join(', ')}; endpoints ${endpoints.toFixed(2)}; link max diff ${worst}`,
    );
  });
});
