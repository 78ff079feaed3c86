import { describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../src/engine/protocol';
import { backendFromQuery, urlWithBackend } from '../../src/ui/backendQuery';
import { centreCropSquare, composeSheet, upscaleNearest } from '../../src/ui/pixels';
import { keyLikeOf, shortcutFor, type KeyLike } from '../../src/ui/shortcuts';

const image = (width: number, height: number, fill: (i: number) => number[]): RgbaImage => {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set(fill(i), i * 4);
  return { width, height, data };
};
const pixel = (img: RgbaImage, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

describe('pixels', () => {
  it('centre-crops landscape and portrait images to a square', () => {
    expect(centreCropSquare(400, 300)).toEqual({ x: 50, y: 0, side: 300 });
    expect(centreCropSquare(300, 401)).toEqual({ x: 0, y: 50, side: 300 });
    expect(centreCropSquare(32, 32)).toEqual({ x: 0, y: 0, side: 32 });
  });

  it('enlarges by replicating pixels exactly', () => {
    const small = image(2, 2, (i) => [i * 10, 0, 0, 255]);
    const big = upscaleNearest(small, 3);
    expect(big.width).toBe(6);
    expect(pixel(big, 0, 0)).toEqual([0, 0, 0, 255]);
    expect(pixel(big, 2, 2)).toEqual([0, 0, 0, 255]);
    expect(pixel(big, 3, 0)).toEqual([10, 0, 0, 255]);
    expect(pixel(big, 5, 5)).toEqual([30, 0, 0, 255]);
    expect(pixel(big, 0, 3)).toEqual([20, 0, 0, 255]);
  });

  it('lays out rows on one sheet with gaps, scaling, and empty cells for missing samples', () => {
    const red = image(2, 2, () => [255, 0, 0, 255]);
    const lowRes = image(1, 1, () => [0, 0, 255, 255]);
    const sheet = composeSheet([[red, null], [lowRes]], {
      scale: 2,
      gap: 1,
      background: [255, 255, 255, 255],
      empty: [9, 9, 9, 255],
    });
    // cells of 4 px (2 px images x2), 2 columns, 2 rows, 1 px gaps
    expect([sheet.width, sheet.height]).toEqual([1 + 2 * 5, 1 + 2 * 5]);
    expect(pixel(sheet, 0, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(sheet, 1, 1)).toEqual([255, 0, 0, 255]);
    expect(pixel(sheet, 4, 4)).toEqual([255, 0, 0, 255]);
    expect(pixel(sheet, 5, 5)).toEqual([255, 255, 255, 255]);
    expect(pixel(sheet, 6, 1)).toEqual([9, 9, 9, 255]);
    expect(pixel(sheet, 4, 9)).toEqual([0, 0, 255, 255]); // the 1x1 image fills its whole cell
    expect(pixel(sheet, 6, 6)).toEqual([255, 255, 255, 255]); // row 2 has no second cell
  });
});

describe('keyboard shortcuts', () => {
  const key = (k: string, target: KeyLike['target'] = { tagName: 'BODY' }, mods: Partial<KeyLike> = {}): KeyLike => ({
    key: k,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    target,
    ...mods,
  });

  it('maps R, C and 1-7', () => {
    expect(shortcutFor(key('r'))).toEqual({ type: 'reroll' });
    expect(shortcutFor(key('R'))).toEqual({ type: 'reroll' });
    expect(shortcutFor(key('c'))).toEqual({ type: 'toggleCompare' });
    expect(shortcutFor(key('1'))).toEqual({ type: 'level', level: 0 });
    expect(shortcutFor(key('7'))).toEqual({ type: 'level', level: 6 });
    expect(shortcutFor(key('8'))).toBeNull();
    expect(shortcutFor(key('0'))).toBeNull();
  });

  it('stays out of the way while typing and with modifier keys', () => {
    expect(shortcutFor(key('r', { tagName: 'INPUT', type: 'number' }))).toBeNull();
    expect(shortcutFor(key('1', { tagName: 'input', type: 'text' }))).toBeNull();
    expect(shortcutFor(key('c', { tagName: 'TEXTAREA' }))).toBeNull();
    expect(shortcutFor(key('c', { tagName: 'SELECT' }))).toBeNull();
    expect(shortcutFor(key('c', { tagName: 'DIV', isContentEditable: true }))).toBeNull();
    expect(shortcutFor(key('c', { tagName: 'BODY' }, { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key('r', { tagName: 'BODY' }, { metaKey: true }))).toBeNull();
    // A checkbox or range slider is not a text field: shortcuts still work there.
    expect(shortcutFor(key('c', { tagName: 'INPUT', type: 'checkbox' }))).toEqual({ type: 'toggleCompare' });
    expect(shortcutFor(key('2', { tagName: 'INPUT', type: 'range' }))).toEqual({ type: 'level', level: 1 });
  });

  // Node has no KeyboardEvent; this one is built the way the DOM's is: an Event whose key and modifier flags are
  // getters on the prototype, so an object spread of it carries none of them.
  class DomLikeKeyboardEvent extends Event {
    readonly #init: { key: string; ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean };
    constructor(init: { key: string; ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean }) {
      super('keydown');
      this.#init = init;
    }
    get key() {
      return this.#init.key;
    }
    get ctrlKey() {
      return this.#init.ctrlKey ?? false;
    }
    get metaKey() {
      return this.#init.metaKey ?? false;
    }
    get altKey() {
      return this.#init.altKey ?? false;
    }
  }

  it("reads the modifier flags of a DOM-shaped event (prototype getters), so Ctrl/Cmd/Alt keys stay the browser's", () => {
    const event = (init: ConstructorParameters<typeof DomLikeKeyboardEvent>[0]) =>
      keyLikeOf(new DomLikeKeyboardEvent(init));
    expect({ ...new DomLikeKeyboardEvent({ key: 'c', ctrlKey: true }) }).not.toHaveProperty('ctrlKey');
    expect(shortcutFor(event({ key: 'c', ctrlKey: true }))).toBeNull();
    expect(shortcutFor(event({ key: 'c', metaKey: true }))).toBeNull();
    expect(shortcutFor(event({ key: 'r', ctrlKey: true }))).toBeNull();
    expect(shortcutFor(event({ key: '1', ctrlKey: true }))).toBeNull();
    expect(shortcutFor(event({ key: '3', altKey: true }))).toBeNull();
    expect(shortcutFor(event({ key: 'c' }))).toEqual({ type: 'toggleCompare' });
    expect(shortcutFor(event({ key: '3' }))).toEqual({ type: 'level', level: 2 });
  });
});

describe('backend query', () => {
  it('reads ?backend= and reports unknown values', () => {
    expect(backendFromQuery('')).toEqual({ backend: 'auto', invalid: null });
    expect(backendFromQuery('?backend=wasm')).toEqual({ backend: 'wasm', invalid: null });
    expect(backendFromQuery('?x=1&backend=webgpu')).toEqual({ backend: 'webgpu', invalid: null });
    expect(backendFromQuery('?backend=cuda')).toEqual({ backend: 'auto', invalid: 'cuda' });
  });
  it('builds the reload URL, keeping the path and the hash', () => {
    expect(urlWithBackend('https://x.org/a/b/?q=1#v=1&level=2', 'cpu')).toBe(
      'https://x.org/a/b/?q=1&backend=cpu#v=1&level=2',
    );
    expect(urlWithBackend('https://x.org/?backend=cpu#v=1', 'auto')).toBe('https://x.org/#v=1');
  });
});
