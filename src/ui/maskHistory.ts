// Undo and redo for mask strokes: each finished stroke (or Clear) is one step. The steps belong to one input image:
// a new image starts an empty history.
import { useState } from 'react';
import type { RgbaImage } from '../engine/protocol';

type Mask = Float32Array | null;

export interface MaskHistory {
  /** Applies a new mask as one undoable step. */
  commit(next: Mask): void;
  undo(): void;
  redo(): void;
  canUndo: boolean;
  canRedo: boolean;
}

interface Stacks {
  image: RgbaImage;
  undo: Mask[];
  redo: Mask[];
}

export function useMaskHistory(image: RgbaImage, mask: Mask, apply: (mask: Mask) => void): MaskHistory {
  const [stacks, setStacks] = useState<Stacks>({ image, undo: [], redo: [] });
  if (stacks.image !== image) setStacks({ image, undo: [], redo: [] });
  const current = stacks.image === image ? stacks : { image, undo: [], redo: [] };
  return {
    commit(next) {
      setStacks({ image, undo: [...current.undo, mask], redo: [] });
      apply(next);
    },
    undo() {
      if (current.undo.length === 0) return;
      const previous = current.undo[current.undo.length - 1];
      setStacks({ image, undo: current.undo.slice(0, -1), redo: [...current.redo, mask] });
      apply(previous);
    },
    redo() {
      if (current.redo.length === 0) return;
      const next = current.redo[current.redo.length - 1];
      setStacks({ image, undo: [...current.undo, mask], redo: current.redo.slice(0, -1) });
      apply(next);
    },
    canUndo: current.undo.length > 0,
    canRedo: current.redo.length > 0,
  };
}
