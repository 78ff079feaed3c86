import { useEffect, useRef, useState, type PointerEvent } from 'react';
import { usePlayground, usePlaygroundStore } from '../storeContext';
import { commitCanvasAsSource } from './SketchCommit';
import { SketchHistory, floodFill, hexOf, type Rgb } from './SketchTools';

/** The drawing's own resolution; it becomes the source like a dropped image (resized to the model's size). */
export const SKETCH_SIZE = 256;
const BRUSH_SIZES = [4, 10, 24, 48];
const PALETTE: Rgb[] = [
  [20, 20, 24],
  [255, 255, 255],
  [200, 40, 40],
  [240, 200, 40],
  [60, 150, 60],
  [40, 90, 200],
  [120, 180, 240],
  [130, 90, 50],
];
type Tool = 'brush' | 'fill' | 'picker';

/** A drawing surface as the source: brush, bucket fill, an eyedropper on the current source, undo/redo, clear. */
export function SketchPad() {
  const store = usePlaygroundStore();
  const hasSource = usePlayground((s) => s.source !== null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const history = useRef(new SketchHistory<ImageData>());
  const last = useRef<{ x: number; y: number } | null>(null);
  const [tool, setTool] = useState<Tool>('brush');
  const [colour, setColour] = useState<Rgb>(PALETTE[5]);
  const [size, setSize] = useState(BRUSH_SIZES[1]);
  const [can, setCan] = useState({ undo: false, redo: false });

  const context = () => canvasRef.current?.getContext('2d', { willReadFrequently: true }) ?? null;
  const snapshot = () => context()?.getImageData(0, 0, SKETCH_SIZE, SKETCH_SIZE) ?? null;

  useEffect(() => {
    const ctx = context();
    if (!ctx) return;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, SKETCH_SIZE, SKETCH_SIZE);
  }, []);

  const commit = () => {
    setCan({ undo: history.current.canUndo, redo: history.current.canRedo });
    if (canvasRef.current) commitCanvasAsSource(store, canvasRef.current, 'sketch');
  };

  /** Records the current drawing for undo, then applies `change` to it. */
  const change = (apply: (ctx: CanvasRenderingContext2D) => void) => {
    const ctx = context();
    const before = snapshot();
    if (!ctx || !before) return;
    history.current.record(before);
    apply(ctx);
  };

  const pointAt = (event: PointerEvent<HTMLCanvasElement> | globalThis.PointerEvent) => {
    const rect = canvasRef.current!.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * SKETCH_SIZE,
      y: ((event.clientY - rect.top) / rect.height) * SKETCH_SIZE,
    };
  };

  const strokeTo = (ctx: CanvasRenderingContext2D, to: { x: number; y: number }, pressure: number) => {
    const from = last.current ?? to;
    ctx.strokeStyle = hexOf(colour);
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = size * pressure;
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + (from === to ? 0.01 : 0), to.y);
    ctx.stroke();
    last.current = to;
  };

  /** Pens scale the brush with pressure; mouse and touch draw at full size. */
  const pressureOf = (event: { pointerType: string; pressure: number }) =>
    event.pointerType === 'pen' ? 0.4 + 0.8 * event.pressure : 1;

  const onPointerDown = (event: PointerEvent<HTMLCanvasElement>) => {
    const point = pointAt(event);
    if (tool === 'picker') {
      const source = store.getState().source?.image;
      if (source) {
        const sx = Math.min(source.width - 1, Math.floor((point.x / SKETCH_SIZE) * source.width));
        const sy = Math.min(source.height - 1, Math.floor((point.y / SKETCH_SIZE) * source.height));
        const p = (sy * source.width + sx) * 4;
        setColour([source.data[p], source.data[p + 1], source.data[p + 2]]);
      }
      setTool('brush');
      return;
    }
    if (tool === 'fill') {
      change((ctx) => {
        const pixels = ctx.getImageData(0, 0, SKETCH_SIZE, SKETCH_SIZE);
        floodFill(pixels.data, SKETCH_SIZE, SKETCH_SIZE, point.x, point.y, colour);
        ctx.putImageData(pixels, 0, 0);
      });
      commit();
      return;
    }
    event.currentTarget.setPointerCapture(event.pointerId);
    last.current = null;
    change((ctx) => strokeTo(ctx, point, pressureOf(event)));
  };

  const onPointerMove = (event: PointerEvent<HTMLCanvasElement>) => {
    if (!last.current) return;
    const ctx = context();
    if (!ctx) return;
    // Coalesced events keep fast pen and touch strokes smooth.
    const events = event.nativeEvent.getCoalescedEvents?.() ?? [];
    for (const e of events.length ? events : [event.nativeEvent]) strokeTo(ctx, pointAt(e), pressureOf(e));
  };

  const endStroke = () => {
    if (!last.current) return;
    last.current = null;
    commit();
  };

  const restore = (image: ImageData | null) => {
    if (!image) return;
    context()?.putImageData(image, 0, 0);
    commit();
  };

  const startFromSource = () => {
    const source = store.getState().source?.image;
    if (!source) return;
    const copy = document.createElement('canvas');
    copy.width = source.width;
    copy.height = source.height;
    copy
      .getContext('2d')
      ?.putImageData(new ImageData(new Uint8ClampedArray(source.data), source.width, source.height), 0, 0);
    change((ctx) => {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(copy, 0, 0, SKETCH_SIZE, SKETCH_SIZE);
    });
    commit();
  };

  return (
    <div className="sketch-pad">
      <canvas
        ref={canvasRef}
        width={SKETCH_SIZE}
        height={SKETCH_SIZE}
        className={`sketch-canvas tool-${tool}`}
        data-testid="sketch-canvas"
        aria-label="Drawing surface: draw with a mouse, a finger or a pen; the drawing is the source image"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={endStroke}
        onPointerCancel={endStroke}
        onLostPointerCapture={endStroke}
      />
      <div className="sketch-tools" role="toolbar" aria-label="Drawing tools">
        {(['brush', 'fill', 'picker'] as const).map((name) => (
          <button
            key={name}
            type="button"
            aria-pressed={tool === name}
            data-testid={`sketch-tool-${name}`}
            disabled={name === 'picker' && !hasSource}
            onClick={() => setTool(name)}
          >
            {name === 'brush' ? 'Brush' : name === 'fill' ? 'Fill' : 'Pick from source'}
          </button>
        ))}
        <label className="inline-field">
          <span>Size</span>
          <select value={size} data-testid="sketch-size" onChange={(e) => setSize(Number(e.target.value))}>
            {BRUSH_SIZES.map((s) => (
              <option key={s} value={s}>
                {s} px
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="sketch-palette" role="group" aria-label="Colours">
        {PALETTE.map((c) => (
          <button
            key={hexOf(c)}
            type="button"
            className="swatch"
            style={{ background: hexOf(c) }}
            aria-label={`Colour ${hexOf(c)}`}
            aria-pressed={hexOf(c) === hexOf(colour)}
            data-testid={`sketch-colour-${hexOf(c).slice(1)}`}
            onClick={() => setColour(c)}
          />
        ))}
        <span
          className="swatch current"
          style={{ background: hexOf(colour) }}
          title={`Current colour ${hexOf(colour)}`}
        />
      </div>
      <div className="sketch-tools" role="toolbar" aria-label="History">
        <button
          type="button"
          data-testid="sketch-undo"
          disabled={!can.undo}
          onClick={() => restore(history.current.undo(snapshot()!))}
        >
          Undo
        </button>
        <button
          type="button"
          data-testid="sketch-redo"
          disabled={!can.redo}
          onClick={() => restore(history.current.redo(snapshot()!))}
        >
          Redo
        </button>
        <button
          type="button"
          data-testid="sketch-clear"
          onClick={() => {
            change((ctx) => {
              ctx.fillStyle = '#fff';
              ctx.fillRect(0, 0, SKETCH_SIZE, SKETCH_SIZE);
            });
            commit();
          }}
        >
          Clear
        </button>
        <button type="button" disabled={!hasSource} onClick={startFromSource}>
          Start from the source
        </button>
      </div>
    </div>
  );
}
