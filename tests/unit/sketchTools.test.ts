// The sketch pad's bucket fill and undo/redo history.
import { describe, expect, it } from 'vitest';
import { SketchHistory, floodFill, hexOf } from '../../src/ui/components/SketchTools';

describe('floodFill', () => {
  it('fills the connected region of similar colour and stops at a wall', () => {
    const width = 5;
    const data = new Uint8ClampedArray(width * 3 * 4).fill(255);
    for (let y = 0; y < 3; y++) data.set([0, 0, 0, 255], (y * width + 2) * 4); // a black wall in column 2
    const filled = floodFill(data, width, 3, 0, 0, [10, 20, 30]);
    expect(filled).toBe(6);
    expect(Array.from(data.subarray(0, 4))).toEqual([10, 20, 30, 255]);
    expect(Array.from(data.subarray(3 * 4, 4 * 4))).toEqual([255, 255, 255, 255]); // right of the wall
    expect(floodFill(data, width, 3, 9, 9, [1, 2, 3])).toBe(0);
  });
});

describe('SketchHistory', () => {
  it('undoes and redoes in order; a new change clears redo', () => {
    const history = new SketchHistory<string>(2);
    history.record('a');
    history.record('b');
    expect(history.undo('c')).toBe('b');
    expect(history.undo('b')).toBe('a');
    expect(history.undo('a')).toBeNull();
    expect(history.redo('a')).toBe('b');
    history.record('b');
    expect(history.canRedo).toBe(false);
    expect(hexOf([40, 90, 200])).toBe('#285ac8');
  });

  it('keeps at most `limit` steps', () => {
    const history = new SketchHistory<number>(2);
    [1, 2, 3].forEach((v) => history.record(v));
    expect(history.undo(4)).toBe(3);
    expect(history.undo(3)).toBe(2);
    expect(history.undo(2)).toBeNull();
  });
});
