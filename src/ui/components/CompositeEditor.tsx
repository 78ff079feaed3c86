import { useEffect, useRef, useState, type DragEvent, type KeyboardEvent, type PointerEvent } from 'react';
import { usePlayground, usePlaygroundStore } from '../storeContext';
import { commitCanvasAsSource } from './SketchCommit';

const PREVIEW_SIZE = 256;

/** Where the pasted image sits, in model pixels: its centre and width (the height follows its aspect ratio). */
interface Placement {
  cx: number;
  cy: number;
  width: number;
}

interface Pasted {
  bitmap: ImageBitmap;
  name: string;
}

/** The pasted image's rectangle in model pixels, rounded outward to whole pixels and clipped to the image. */
export function compositeRect(
  placement: Placement,
  aspect: number,
  size: number,
): { x: number; y: number; width: number; height: number } {
  const height = placement.width * aspect;
  const x0 = Math.max(0, Math.floor(placement.cx - placement.width / 2));
  const y0 = Math.max(0, Math.floor(placement.cy - height / 2));
  const x1 = Math.min(size, Math.ceil(placement.cx + placement.width / 2));
  const y1 = Math.min(size, Math.ceil(placement.cy + height / 2));
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** Pastes a second image onto the source, to move and scale (pointer, wheel, arrow keys, + and -), then use. */
export function CompositeEditor() {
  const store = usePlaygroundStore();
  const source = usePlayground((s) => s.source);
  const reportError = usePlayground((s) => s.reportError);
  const previewRef = useRef<HTMLCanvasElement>(null);
  const drag = useRef<{ x: number; y: number; start: Placement } | null>(null);
  const [pasted, setPasted] = useState<Pasted | null>(null);
  const [placement, setPlacement] = useState<Placement | null>(null);
  const [maskRegion, setMaskRegion] = useState(false);
  const size = source?.image.width ?? 0;
  const aspect = pasted ? pasted.bitmap.height / pasted.bitmap.width : 1;

  const open = async (blob: Blob, name: string) => {
    try {
      const bitmap = await createImageBitmap(blob);
      setPasted((old) => {
        old?.bitmap.close();
        return { bitmap, name };
      });
      if (size) setPlacement({ cx: size / 2, cy: size / 2, width: size / 2 });
    } catch {
      reportError('input', `"${name}" could not be opened as an image to paste.`);
    }
  };

  /** The source with the pasted image on top, at `scale` canvas pixels per model pixel. */
  const compose = (canvas: HTMLCanvasElement, scale: number) => {
    if (!source || !pasted || !placement) return;
    const context = canvas.getContext('2d');
    if (!context) return;
    const base = document.createElement('canvas');
    base.width = size;
    base.height = size;
    base.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(source.image.data), size, size), 0, 0);
    context.imageSmoothingEnabled = false;
    context.drawImage(base, 0, 0, size * scale, size * scale);
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = 'high';
    const height = placement.width * aspect;
    context.drawImage(
      pasted.bitmap,
      (placement.cx - placement.width / 2) * scale,
      (placement.cy - height / 2) * scale,
      placement.width * scale,
      height * scale,
    );
  };

  useEffect(() => {
    const canvas = previewRef.current;
    if (!canvas || !source) return;
    const context = canvas.getContext('2d');
    context?.clearRect(0, 0, PREVIEW_SIZE, PREVIEW_SIZE);
    if (pasted && placement) compose(canvas, PREVIEW_SIZE / size);
  });

  const apply = () => {
    if (!source || !pasted || !placement || !previewRef.current) return;
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    compose(canvas, 1);
    const rect = compositeRect(placement, aspect, size);
    const regionMask = () => {
      // Features are kept (1) everywhere but the pasted rectangle, which the generator re-imagines (0).
      const mask = new Float32Array(size * size).fill(1);
      for (let y = rect.y; y < rect.y + rect.height; y++)
        mask.fill(0, y * size + rect.x, y * size + rect.x + rect.width);
      store.getState().setMask(mask);
    };
    commitCanvasAsSource(store, canvas, 'composite', maskRegion ? regionMask : undefined, previewRef.current);
  };

  const move = (dx: number, dy: number, grow = 1) =>
    setPlacement((p) =>
      p ? { cx: p.cx + dx, cy: p.cy + dy, width: Math.min(size * 4, Math.max(1, p.width * grow)) } : p,
    );

  const onKeyDown = (event: KeyboardEvent) => {
    const step = event.shiftKey ? 4 : 1;
    const moves: Record<string, [number, number, number]> = {
      ArrowLeft: [-step, 0, 1],
      ArrowRight: [step, 0, 1],
      ArrowUp: [0, -step, 1],
      ArrowDown: [0, step, 1],
      '+': [0, 0, 1.1],
      '=': [0, 0, 1.1],
      '-': [0, 0, 1 / 1.1],
    };
    const change = moves[event.key];
    if (!change) return;
    event.preventDefault();
    event.stopPropagation(); // not the playground's shortcuts
    move(...change);
  };

  const toModel = (event: PointerEvent) => {
    const rect = previewRef.current!.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * size,
      y: ((event.clientY - rect.top) / rect.height) * size,
    };
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) void open(file, file.name);
  };

  if (!source) return <p className="hint">Open an image first: the pasted image goes on top of it.</p>;
  const rect = placement ? compositeRect(placement, aspect, size) : null;
  return (
    <div
      className="composite-editor"
      onDragOver={(e) => e.preventDefault()}
      onDrop={onDrop}
      onPaste={(event) => {
        const file = Array.from(event.clipboardData.files).find((f) => f.type.startsWith('image/'));
        if (!file) return;
        event.preventDefault();
        event.stopPropagation(); // pasted here, the image goes on top instead of replacing the source
        void open(file, file.name || 'pasted image');
      }}
    >
      <label className="button file-button">
        Image to paste on top
        <input
          type="file"
          accept="image/*"
          className="visually-hidden"
          data-testid="composite-input"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void open(file, file.name);
            e.target.value = '';
          }}
        />
      </label>
      <canvas
        ref={previewRef}
        width={PREVIEW_SIZE}
        height={PREVIEW_SIZE}
        className="composite-canvas"
        data-testid="composite-canvas"
        data-rect={rect ? `${rect.x},${rect.y},${rect.width},${rect.height}` : ''}
        tabIndex={0}
        role="img"
        aria-label="Composite preview: drag the pasted image to move it, scroll or press + and - to scale it, arrow keys to nudge it"
        onKeyDown={onKeyDown}
        onWheel={(e) => move(0, 0, e.deltaY < 0 ? 1.1 : 1 / 1.1)}
        onPointerDown={(event) => {
          if (!placement) return;
          event.currentTarget.setPointerCapture(event.pointerId);
          event.currentTarget.focus();
          drag.current = { ...toModel(event), start: placement };
        }}
        onPointerMove={(event) => {
          const start = drag.current;
          if (!start) return;
          const point = toModel(event);
          setPlacement({
            ...start.start,
            cx: start.start.cx + point.x - start.x,
            cy: start.start.cy + point.y - start.y,
          });
        }}
        onPointerUp={() => (drag.current = null)}
        onPointerCancel={() => (drag.current = null)}
      />
      <label className="inline-field">
        <input
          type="checkbox"
          checked={maskRegion}
          data-testid="composite-mask"
          onChange={(e) => setMaskRegion(e.target.checked)}
        />
        <span>Re-imagine only the pasted region (the rest keeps the source&apos;s features)</span>
      </label>
      <button type="button" className="primary" data-testid="composite-apply" disabled={!pasted} onClick={apply}>
        Use the composite
      </button>
      {!pasted && <p className="hint">Choose, drop or paste (Ctrl+V here) an image to put on top of the source.</p>}
    </div>
  );
}
