// The canvas-free parts of the sketch pad: bucket fill on RGBA pixels and the undo/redo history.

export type Rgb = [number, number, number];

/**
 * Fills the 4-connected region around (x, y) whose colours are within `tolerance` (per channel, 0..255) of the
 * colour there, with `colour` (opaque). The tolerance lets a fill reach into the soft edge of a brush stroke.
 * Returns the number of pixels filled.
 */
export function floodFill(
  data: Uint8ClampedArray,
  width: number,
  height: number,
  x: number,
  y: number,
  colour: Rgb,
  tolerance = 48,
): number {
  const startX = Math.floor(x);
  const startY = Math.floor(y);
  if (startX < 0 || startY < 0 || startX >= width || startY >= height) return 0;
  const start = (startY * width + startX) * 4;
  const target = [data[start], data[start + 1], data[start + 2]];
  const matches = (p: number) =>
    Math.abs(data[p] - target[0]) <= tolerance &&
    Math.abs(data[p + 1] - target[1]) <= tolerance &&
    Math.abs(data[p + 2] - target[2]) <= tolerance;
  const visited = new Uint8Array(width * height);
  const stack = [startY * width + startX];
  let filled = 0;
  while (stack.length) {
    const index = stack.pop()!;
    if (visited[index]) continue;
    visited[index] = 1;
    const p = index * 4;
    if (!matches(p)) continue;
    data[p] = colour[0];
    data[p + 1] = colour[1];
    data[p + 2] = colour[2];
    data[p + 3] = 255;
    filled++;
    const px = index % width;
    if (px > 0) stack.push(index - 1);
    if (px < width - 1) stack.push(index + 1);
    if (index >= width) stack.push(index - width);
    if (index < width * (height - 1)) stack.push(index + width);
  }
  return filled;
}

/** Snapshots before each change: undo returns to the one before, redo walks forward again; a change clears redo. */
export class SketchHistory<T> {
  private readonly undoStack: T[] = [];
  private redoStack: T[] = [];
  constructor(private readonly limit = 40) {}

  /** Call with the state before a change. */
  record(before: T): void {
    this.undoStack.push(before);
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack = [];
  }

  /** The state to go back to, given the current one; null when there is nothing to undo. */
  undo(current: T): T | null {
    const previous = this.undoStack.pop();
    if (previous === undefined) return null;
    this.redoStack.push(current);
    return previous;
  }

  redo(current: T): T | null {
    const next = this.redoStack.pop();
    if (next === undefined) return null;
    this.undoStack.push(current);
    return next;
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }
}

/** "#rrggbb" of a colour. */
export function hexOf([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}
