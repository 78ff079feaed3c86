// Reliability, files: everything people drop, paste or choose, in real Chromium (WASM backend), one page for all
// cases. A refused file must leave a clear message in the banner and the app working (the next good image gives a
// new grid); an accepted odd file must give a grid, with a note where the result is not what one might expect.
import { describe, expect, inject, it } from 'vitest';
import { bannerText, type AppPage } from './helpers/app';
import {
  SCRIPTED_SVG,
  corruptJpegHeader,
  corruptPng,
  goodPng,
  makeAnimatedGif,
  makeHugeBilevelPng,
  makePng,
  meanRgb,
  readFixture,
} from './reliability-fixtures/files';
import {
  bannerMessages,
  clearBanner,
  currentGrid,
  expectBanner,
  expectNoPageErrors,
  fingerprint,
  linkImageParam,
  shareReliabilityContext,
  openReady,
  waitForNewModelInput,
  type RelContext,
  waitForNextGrid,
} from './reliability-fixtures/harness';

const baseUrl = inject('baseUrl');
let rel: RelContext;
let app: AppPage;
let goodVariant = 1;

shareReliabilityContext(async (shared) => {
  rel = shared;
  ({ app } = await openReady(rel, baseUrl));
});

type FileSpec = { name: string; mimeType: string; buffer: Buffer };

async function choose(file: FileSpec | FileSpec[]): Promise<void> {
  await app.page.getByTestId('file-input').setInputFiles(file);
}

/** The next good image opens and gives a new grid; the input error is gone. Returns nothing, fails otherwise. */
async function nextGoodImageWorks(): Promise<void> {
  const before = fingerprint(await currentGrid(app));
  await choose({ name: `good-${goodVariant}.png`, mimeType: 'image/png', buffer: goodPng(goodVariant++) });
  await waitForNextGrid(app, before);
  expect(await bannerText(app.page), 'the banner after a good image').not.toMatch(/Could not open/);
}

/** A refused file: the message, the grid left as it was, then a good image works. */
async function expectRefused(file: FileSpec, message: RegExp): Promise<string> {
  await clearBanner(app.page);
  const before = fingerprint(await currentGrid(app));
  await choose(file);
  const text = await expectBanner(app, message);
  expect(text).toContain(`Could not open "${file.name}"`);
  expect(fingerprint(await currentGrid(app)), 'the grid of the previous image stays').toBe(before);
  await nextGoodImageWorks();
  expectNoPageErrors(app);
  return text;
}

/** An accepted file: a new grid and model input; returns the model input (32x32 RGBA) read from the permalink. */
async function expectAccepted(file: FileSpec | FileSpec[], note: RegExp | null) {
  await clearBanner(app.page);
  const before = fingerprint(await currentGrid(app));
  const previousImage = await linkImageParam(app.page);
  await choose(file);
  const input = await waitForNewModelInput(app.page, previousImage);
  await waitForNextGrid(app, before);
  const text = await bannerMessages(app.page);
  if (note) expect(text).toMatch(note);
  expect(text, 'no error for an accepted file').not.toMatch(/Error/);
  expectNoPageErrors(app);
  return { input, text };
}

const png = (name: string, buffer: Buffer): FileSpec => ({ name, mimeType: 'image/png', buffer });
const jpegFixture = readFixture('rgb.jpg');

describe('reliability: files', () => {
  it('empty file', async ({ annotate }) => {
    await annotate(await expectRefused(png('empty.png', Buffer.alloc(0)), /the file is empty/));
  });

  it('text renamed .png', async ({ annotate }) => {
    await annotate(
      await expectRefused(
        png('notes.png', Buffer.from('Shopping list:\n- eggs\n- <b>milk</b>\n')),
        /contains text, not image data/,
      ),
    );
  });

  it('truncated PNG', async ({ annotate }) => {
    const whole = goodPng(7);
    await annotate(
      await expectRefused(png('cut.png', whole.subarray(0, Math.floor(whole.length * 0.6))), /PNG is cut short/),
    );
  });

  it('corrupt PNG (one flipped byte in the image data)', async ({ annotate }) => {
    await annotate(
      await expectRefused(
        png('flipped.png', corruptPng(goodPng(8))),
        /PNG is damaged \(the IDAT chunk fails its checksum\)/,
      ),
    );
  });

  it('truncated JPEG', async ({ annotate }) => {
    const cut = jpegFixture.subarray(0, Math.floor(jpegFixture.length * 0.7));
    await annotate(await expectRefused({ name: 'cut.jpg', mimeType: 'image/jpeg', buffer: cut }, /JPEG is cut short/));
  });

  it('corrupt JPEG (damaged header segments)', async ({ annotate }) => {
    await annotate(
      await expectRefused(
        { name: 'damaged.jpg', mimeType: 'image/jpeg', buffer: corruptJpegHeader(jpegFixture) },
        /JPEG is damaged/,
      ),
    );
  });

  it('very large image (12000x12000 PNG) is refused from its header, quickly', async ({ annotate }) => {
    const huge = makeHugeBilevelPng(12000, 12000);
    const started = Date.now();
    const text = await expectRefused(png('huge.png', huge), /12000×12000 pixels \(144 megapixels\), too large/);
    await annotate(
      `${(huge.length / 1024).toFixed(0)} KB file; ${Date.now() - started} ms including the next good image; ${text}`,
    );
  });

  it('1x1 image: enlarged, with a note, and flat in the colour of its pixel', async ({ annotate }) => {
    const { input, text } = await expectAccepted(
      png(
        'dot.png',
        makePng(1, 1, 2, 8, () => [200, 30, 60]),
      ),
      /only 1×1 pixels, smaller than the model's 32×32/,
    );
    const [r, g, b] = meanRgb(input);
    expect(Math.abs(r - 200) + Math.abs(g - 30) + Math.abs(b - 60)).toBeLessThan(6);
    await annotate(text);
  });

  it('extreme aspect ratio, wide (3000x12)', async ({ annotate }) => {
    const { text } = await expectAccepted(
      png(
        'wide.png',
        makePng(3000, 12, 2, 8, (x) => (x < 1500 ? [250, 0, 0] : [0, 0, 250])),
      ),
      /3000×12, very elongated: only its centre square \(12×12\) is used/,
    );
    await annotate(text);
  });

  it('extreme aspect ratio, tall (9x2000)', async ({ annotate }) => {
    const { input, text } = await expectAccepted(
      png(
        'tall.png',
        makePng(9, 2000, 2, 8, (_x, y) => (y < 1000 ? [0, 200, 0] : [0, 0, 200])),
      ),
      /9×2000, very elongated/,
    );
    expect(input.width).toBe(32);
    await annotate(text);
  });

  it('grayscale PNG: accepted, the model input is grey', async ({ annotate }) => {
    const { input } = await expectAccepted(
      png(
        'grey.png',
        makePng(40, 40, 0, 8, (x, y) => [((x + y) * 3) % 256]),
      ),
      null,
    );
    let maxSpread = 0;
    for (let i = 0; i < input.data.length; i += 4)
      maxSpread = Math.max(
        maxSpread,
        Math.max(input.data[i], input.data[i + 1], input.data[i + 2]) -
          Math.min(input.data[i], input.data[i + 1], input.data[i + 2]),
      );
    expect(maxSpread).toBeLessThanOrEqual(2);
    await annotate(`max channel spread ${maxSpread}`);
  });

  it('16-bit PNG: accepted, colours kept', async ({ annotate }) => {
    const { input } = await expectAccepted(
      png(
        'deep.png',
        makePng(40, 40, 2, 16, () => [40, 160, 220], 0x7f),
      ),
      null,
    );
    const mean = meanRgb(input).map(Math.round);
    expect(Math.abs(mean[0] - 40) + Math.abs(mean[1] - 160) + Math.abs(mean[2] - 220)).toBeLessThan(8);
    await annotate(`mean RGB ${mean.join(',')}`);
  });

  it('PNG with alpha: flattened on white, with a note', async ({ annotate }) => {
    // Left half fully transparent (its colour, black, must not show), right half opaque blue.
    const file = makePng(64, 64, 6, 8, (x) => (x < 32 ? [0, 0, 0, 0] : [20, 40, 230, 255]));
    const { input, text } = await expectAccepted(
      png('alpha.png', file),
      /transparent areas: they were filled with white/,
    );
    const at = (x: number, y: number) => Array.from(input.data.subarray((y * 32 + x) * 4, (y * 32 + x) * 4 + 3));
    expect(
      at(4, 16).every((v) => v >= 250),
      `left side ${at(4, 16)}`,
    ).toBe(true);
    expect(at(28, 16)[2]).toBeGreaterThan(200);
    expect(at(28, 16)[0]).toBeLessThan(40);
    await annotate(`left ${at(4, 16)}, right ${at(28, 16)}; ${text}`);
  });

  it('CMYK JPEG: accepted, colours close to the RGB original', async ({ annotate }) => {
    const { input } = await expectAccepted(
      { name: 'cmyk.jpg', mimeType: 'image/jpeg', buffer: readFixture('cmyk.jpg') },
      null,
    );
    const mean = meanRgb(input).map(Math.round);
    // The picture is a red-to-orange gradient: red high, blue low.
    expect(mean[0]).toBeGreaterThan(180);
    expect(mean[2]).toBeLessThan(80);
    await annotate(`mean RGB ${mean.join(',')}`);
  });

  it('animated GIF: first frame used, with a note', async ({ annotate }) => {
    const gif = makeAnimatedGif(40, 40, [
      [230, 20, 20],
      [20, 20, 230],
    ]);
    const { input, text } = await expectAccepted(
      { name: 'blink.gif', mimeType: 'image/gif', buffer: gif },
      /animated: only its first frame is used/,
    );
    const mean = meanRgb(input).map(Math.round);
    expect(mean[0]).toBeGreaterThan(200);
    expect(mean[2]).toBeLessThan(50);
    await annotate(`mean RGB ${mean.join(',')}; ${text}`);
  });

  it('WebP: accepted', async ({ annotate }) => {
    const { input } = await expectAccepted(
      { name: 'photo.webp', mimeType: 'image/webp', buffer: readFixture('rgb.webp') },
      null,
    );
    const mean = meanRgb(input).map(Math.round);
    expect(mean[0]).toBeGreaterThan(180);
    await annotate(`mean RGB ${mean.join(',')}`);
  });

  it('HEIC (not decodable by Chromium): refused, format named', async ({ annotate }) => {
    await annotate(
      await expectRefused(
        { name: 'phone.heic', mimeType: 'image/heic', buffer: readFixture('rgb.heic') },
        /HEIC\/HEIF image, which this browser cannot decode/,
      ),
    );
  });

  it('TIFF (not decodable by Chromium): refused, format named', async ({ annotate }) => {
    await annotate(
      await expectRefused(
        { name: 'scan.tiff', mimeType: 'image/tiff', buffer: readFixture('rgb.tiff') },
        /TIFF image, which this browser cannot decode/,
      ),
    );
  });

  it('SVG with scripts: refused, its scripts never run', async ({ annotate }) => {
    const text = await expectRefused(
      { name: 'drawing.svg', mimeType: 'image/svg+xml', buffer: SCRIPTED_SVG },
      /SVG drawings are not accepted/,
    );
    // Also renamed as .png: the bytes decide, not the name.
    await expectRefused(png('drawing.png', SCRIPTED_SVG), /SVG drawings are not accepted/);
    expect(await app.page.evaluate(() => (window as unknown as { __svgRan?: number }).__svgRan)).toBeUndefined();
    await annotate(text);
  });

  it('drop of several files at once: the first image opens, with a note', async ({ annotate }) => {
    await clearBanner(app.page);
    const before = fingerprint(await currentGrid(app));
    const files = [
      { name: 'readme.txt', type: 'text/plain', base64: Buffer.from('hello').toString('base64') },
      { name: 'first.png', type: 'image/png', base64: goodPng(20).toString('base64') },
      { name: 'second.png', type: 'image/png', base64: goodPng(21).toString('base64') },
    ];
    await app.page.evaluate((list) => {
      const transfer = new DataTransfer();
      for (const f of list)
        transfer.items.add(
          new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }),
        );
      document
        .querySelector('[data-testid="drop-zone"]')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, files);
    await waitForNextGrid(app, before);
    const text = await expectBanner(app, /3 items were dropped; only "first.png" was opened/);
    await annotate(text);
  });

  it('drop of a folder: refused with a message (folder entry simulated: Playwright cannot drag a real one)', async ({
    annotate,
  }) => {
    await clearBanner(app.page);
    const before = fingerprint(await currentGrid(app));
    await app.page.evaluate(() => {
      // What Chromium hands over for a dropped folder: a File with no type whose entry is a directory.
      const transfer = new DataTransfer();
      transfer.items.add(new File([], 'holiday-photos', { type: '' }));
      const item = transfer.items[0];
      Object.defineProperty(item, 'webkitGetAsEntry', {
        value: () => ({ isDirectory: true, isFile: false, name: 'holiday-photos' }),
      });
      Object.defineProperty(transfer, 'items', { value: [item] });
      document
        .querySelector('[data-testid="drop-zone"]')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    const text = await expectBanner(app, /That was a folder \("holiday-photos"\), not an image/);
    expect(fingerprint(await currentGrid(app))).toBe(before);
    await nextGoodImageWorks();
    await annotate(text);
  });

  it('paste of text instead of an image', async ({ annotate }) => {
    await clearBanner(app.page);
    await app.page.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.setData('text/plain', 'https://example.com/cat.jpg');
      document.body.dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }),
      );
    });
    const text = await expectBanner(app, /The clipboard holds text, not an image/);
    await nextGoodImageWorks();
    await annotate(text);
  });

  it('paste of an image works after all that', async () => {
    await clearBanner(app.page);
    const before = fingerprint(await currentGrid(app));
    await app.page.evaluate((base64) => {
      const transfer = new DataTransfer();
      transfer.items.add(
        new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }),
      );
      document.body.dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }),
      );
    }, goodPng(30).toString('base64'));
    await waitForNextGrid(app, before);
    expect(await bannerText(app.page)).toBe('');
    expectNoPageErrors(app);
  });
});
