// Reliability of inputs at the Node level: what the app decides about a file from its bytes alone (src/ui/imageSniff.ts), what
// it opens from a drop (src/ui/dropFiles.ts), and that no source file puts strings into HTML.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideDrop } from '../../src/ui/dropFiles';
import { MAX_IMAGE_PIXELS, inputNotes, sniffImage, undecodableMessage } from '../../src/ui/imageSniff';
import {
  SCRIPTED_SVG,
  corruptJpegHeader,
  corruptPng,
  goodPng,
  makeAnimatedGif,
  makeHugeBilevelPng,
  makePng,
  readFixture,
} from '../e2e/reliability-fixtures/files';

describe('file sniffing', () => {
  it('empty files and text renamed .png are refused with a reason', () => {
    expect(sniffImage(new Uint8Array()).problem).toBe('the file is empty');
    const text = sniffImage(new TextEncoder().encode('hello, this is not a picture\n'));
    expect(text.format).toBe('text');
    expect(text.problem).toMatch(/text, not image data/);
  });

  it('PNG: valid ones give their size; cut or flipped ones are refused', () => {
    const png = goodPng();
    expect(sniffImage(png)).toMatchObject({ format: 'png', width: 48, height: 40 });
    expect(sniffImage(png.subarray(0, png.length - 20)).problem).toMatch(/PNG is cut short/);
    expect(sniffImage(corruptPng(png)).problem).toMatch(/PNG is damaged.*checksum/);
  });

  it('JPEG: size from the frame header; cut short or damaged headers are refused', () => {
    const jpeg = readFixture('rgb.jpg');
    expect(sniffImage(jpeg)).toMatchObject({ format: 'jpeg', width: 48, height: 40 });
    expect(sniffImage(readFixture('cmyk.jpg'))).toMatchObject({ format: 'jpeg', width: 48, height: 40 });
    expect(sniffImage(jpeg.subarray(0, Math.floor(jpeg.length * 0.7))).problem).toMatch(/JPEG is cut short/);
    expect(sniffImage(jpeg.subarray(0, 30)).problem).toMatch(/JPEG is cut short/);
    expect(sniffImage(corruptJpegHeader(jpeg)).problem).toMatch(/JPEG is damaged/);
  });

  it('a 12000x12000 PNG is refused from its header, before any decoding', () => {
    const huge = makeHugeBilevelPng(12000, 12000);
    expect(huge.length).toBeLessThan(1_000_000);
    const result = sniffImage(huge);
    expect(result.problem).toMatch(/12000×12000 pixels \(144 megapixels\).*limit is 50 megapixels/);
    expect(12000 * 12000).toBeGreaterThan(MAX_IMAGE_PIXELS);
    // just under the limit is fine
    expect(sniffImage(makeHugeBilevelPng(7000, 7000)).problem).toBeUndefined();
  });

  it('GIF, WebP, grey and 16-bit PNG are recognised (animation noted); SVG refused; HEIC/TIFF named', () => {
    const gif = sniffImage(
      makeAnimatedGif(40, 40, [
        [255, 0, 0],
        [0, 0, 255],
      ]),
    );
    expect(gif).toMatchObject({ format: 'gif', width: 40, height: 40, animated: true });
    expect(sniffImage(makeAnimatedGif(40, 40, [[255, 0, 0]])).animated).toBeUndefined();
    expect(sniffImage(readFixture('rgb.webp'))).toMatchObject({ format: 'webp', width: 48, height: 40 });
    expect(sniffImage(makePng(40, 40, 0, 8, () => [128]))).toMatchObject({ format: 'png', width: 40 });
    expect(sniffImage(makePng(40, 40, 2, 16, () => [200, 10, 10]))).toMatchObject({ format: 'png', width: 40 });
    expect(sniffImage(SCRIPTED_SVG)).toMatchObject({
      format: 'svg',
      problem: expect.stringMatching(/SVG drawings are not accepted/),
    });
    expect(sniffImage(readFixture('rgb.heic')).format).toBe('heic');
    expect(sniffImage(readFixture('rgb.tiff')).format).toBe('tiff');
    expect(undecodableMessage('heic')).toMatch(/HEIC\/HEIF image, which this browser cannot decode/);
  });

  it('notes for tiny, elongated, animated and transparent images', () => {
    expect(inputNotes('a', 1, 1, 32)).toEqual([
      expect.stringMatching(/only 1×1 pixels, smaller than the model's 32×32/),
    ]);
    expect(inputNotes('a', 4000, 40, 32)).toEqual([
      expect.stringMatching(/4000×40, very elongated: only its centre square \(40×40\)/),
    ]);
    expect(inputNotes('a', 64, 64, 32, { animated: true, transparent: true })).toHaveLength(2);
    expect(inputNotes('a', 64, 48, 32)).toEqual([]);
  });
});

describe('drops', () => {
  const file = (name: string, type = 'image/png') => ({ name, type, isDirectory: false });
  it('one image opens; several open the first image with a note; folders and text are refused', () => {
    expect(decideDrop([file('a.png')], false)).toEqual({ kind: 'open', index: 0, warning: null });
    const several = decideDrop([file('notes.txt', 'text/plain'), file('b.png'), file('c.jpg', 'image/jpeg')], false);
    expect(several).toMatchObject({
      kind: 'open',
      index: 1,
      warning: expect.stringMatching(/3 items were dropped; only "b.png" was opened/),
    });
    expect(decideDrop([{ name: 'photos', type: '', isDirectory: true }], false)).toEqual({
      kind: 'error',
      message: expect.stringMatching(/a folder \("photos"\)/),
    });
    expect(decideDrop([{ name: 'photos', type: '', isDirectory: true }, file('x.png')], false)).toMatchObject({
      kind: 'open',
      index: 1,
      warning: expect.stringMatching(/including a folder/),
    });
    expect(decideDrop([], true)).toMatchObject({ kind: 'error', message: expect.stringMatching(/That was text/) });
    expect(decideDrop([], false)).toMatchObject({ kind: 'error', message: expect.stringMatching(/Nothing usable/) });
  });
});

describe('no HTML from strings', () => {
  it('no source file uses innerHTML, outerHTML, insertAdjacentHTML, document.write or dangerouslySetInnerHTML', () => {
    const root = join(import.meta.dirname, '../../src');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (
          /\.(ts|tsx)$/.test(name) &&
          /innerHTML|outerHTML|insertAdjacentHTML|document\.write|dangerouslySetInnerHTML|createContextualFragment/.test(
            readFileSync(path, 'utf8'),
          )
        )
          offenders.push(path);
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });
});
