import { useEffect, useRef, useState, type PointerEvent } from 'react';
import type { RgbaImage } from '../../engine/protocol';
import { useMaskHistory } from '../maskHistory';
import { RgbaCanvas } from './RgbaCanvas';

interface Props {
  image: RgbaImage;
  mask: Float32Array | null;
  onCommit(mask: Float32Array | null): void;
}

/** Marks every model pixel within `radius` of (cx, cy). */
function stamp(mask: Float32Array, size: number, cx: number, cy: number, radius: number, value: number) {
  const r = Math.max(0.5, radius);
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(size - 1, Math.ceil(cy + r)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(size - 1, Math.ceil(cx + r)); x++) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) mask[y * size + x] = value;
    }
  }
}

/** Dims the parts the generator will re-invent; painted parts (features kept) show clearly. */
function drawOverlay(canvas: HTMLCanvasElement, mask: Float32Array | null, size: number) {
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext('2d');
  if (!context) return;
  const overlay = context.createImageData(size, size);
  if (mask) {
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] < 0.5) overlay.data.set([24, 28, 40, 170], i * 4);
      else overlay.data.set([255, 196, 0, 60], i * 4);
    }
  }
  context.putImageData(overlay, 0, 0);
}

/** The model-size input with a paintable mask on top: "keep the source's features here". */
export function MaskPainter({ image, mask, onCommit: applyMask }: Props) {
  const size = image.width;
  const history = useMaskHistory(image, mask, applyMask);
  const onCommit = history.commit;
  // Phones fold the tools away until wanted, so that the samples stay near the top.
  const [toolsOpen, setToolsOpen] = useState(() => !globalThis.matchMedia?.('(max-width: 700px)').matches);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const working = useRef<Float32Array | null>(null);
  const painting = useRef(false);
  const [enabled, setEnabled] = useState(false);
  const [erase, setErase] = useState(false);
  const [brush, setBrush] = useState(Math.max(1, Math.round(size / 16)));

  useEffect(() => {
    if (overlayRef.current) drawOverlay(overlayRef.current, mask, size);
  }, [mask, size]);

  const paintAt = (event: PointerEvent<HTMLCanvasElement>) => {
    const canvas = overlayRef.current;
    if (!canvas || !working.current) return;
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * size;
    const y = ((event.clientY - rect.top) / rect.height) * size;
    stamp(working.current, size, x, y, brush, erase ? 0 : 1);
    drawOverlay(canvas, working.current, size);
  };

  const start = (event: PointerEvent<HTMLCanvasElement>) => {
    if (!enabled) return;
    event.currentTarget.setPointerCapture(event.pointerId);
    painting.current = true;
    // Painting starts from "nothing kept" so that the first stroke selects a region.
    working.current = mask && mask.length === size * size ? new Float32Array(mask) : new Float32Array(size * size);
    paintAt(event);
  };

  const finish = () => {
    if (!painting.current || !working.current) return;
    painting.current = false;
    const result = working.current;
    working.current = null;
    onCommit(result.some((v) => v >= 0.5) ? result : null);
  };

  return (
    <div className="mask-painter">
      <div className={`mask-stack ${enabled ? 'painting' : ''}`}>
        <RgbaCanvas image={image} label={`Model input, ${size} by ${size} pixels`} testId="model-input" />
        <canvas
          ref={overlayRef}
          className="pixel-image mask-overlay"
          aria-label={enabled ? 'Mask painting area: drag to mark regions whose features are kept' : 'Painted mask'}
          data-testid="mask-canvas"
          onPointerDown={start}
          onPointerMove={(e) => painting.current && paintAt(e)}
          onPointerUp={finish}
          onPointerCancel={finish}
        />
      </div>
      <details
        className="mask-tools-fold"
        open={toolsOpen}
        onToggle={(e) => setToolsOpen(e.currentTarget.open)}
        data-testid="mask-tools-fold"
      >
        <summary>Mask tools</summary>
        <div className="mask-tools" role="group" aria-label="Mask painting">
          <button type="button" aria-pressed={enabled} onClick={() => setEnabled(!enabled)} data-testid="paint-toggle">
            {enabled ? 'Painting on' : 'Paint mask'}
          </button>
          <button type="button" aria-pressed={erase} disabled={!enabled} onClick={() => setErase(!erase)}>
            {erase ? 'Erasing' : 'Erase'}
          </button>
          <label className="inline-field">
            <span>Brush</span>
            <select value={brush} onChange={(e) => setBrush(Number(e.target.value))}>
              {[1, 2, 3, 4, 6, 8].map((r) => (
                <option key={r} value={r}>
                  {r} px
                </option>
              ))}
            </select>
          </label>
          <button type="button" disabled={!mask} onClick={() => onCommit(null)} data-testid="mask-clear">
            Clear mask
          </button>
          <button type="button" disabled={!history.canUndo} onClick={history.undo} data-testid="mask-undo">
            Undo
          </button>
          <button type="button" disabled={!history.canRedo} onClick={history.redo} data-testid="mask-redo">
            Redo
          </button>
        </div>
        <p className="hint">
          {mask
            ? 'Features are kept where painted (bright); the generator fills in the dimmed rest.'
            : 'Paint regions to keep their features; the generator re-invents the rest.'}
        </p>
      </details>
    </div>
  );
}
