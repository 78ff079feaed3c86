// Looking closely: a sample's button opens it large in a dialog (`sample-zoom`), drawn with nearest-neighbour
// (the real pixels) or smooth scaling, captioned with its level, seed and index. Escape or Close returns focus to
// the sample.
import { createContext, use, useEffect, useRef, useState, type ReactNode } from 'react';
import type { RgbaImage } from '../../engine/protocol';
import { RgbaCanvas } from './RgbaCanvas';

export interface ZoomTarget {
  image: RgbaImage;
  /** The level's label ("stride 8 · pool3") or "LAG candidate". */
  levelLabel: string;
  seed: number;
  /** 0-based sample index. */
  index: number;
}

const ZoomContext = createContext<(target: ZoomTarget) => void>(() => {});

function ZoomDialog({ target, onClose }: { target: ZoomTarget | null; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [smooth, setSmooth] = useState(false);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (target && !element.open) element.showModal();
    if (!target && element.open) element.close();
  }, [target]);
  return (
    <dialog
      ref={dialog}
      className="zoom-dialog"
      data-testid="sample-zoom"
      aria-labelledby="zoom-title"
      onClose={onClose}
    >
      <div className="dialog-title-row">
        <h2 id="zoom-title">{target ? `${target.levelLabel}, sample ${target.index + 1}` : 'Sample'}</h2>
        <button type="button" onClick={onClose} data-testid="zoom-close">
          Close
        </button>
      </div>
      {target && (
        <>
          <RgbaCanvas
            image={target.image}
            label={`${target.levelLabel}, sample ${target.index + 1}, enlarged`}
            className={`zoom-image ${smooth ? 'smooth' : ''}`}
            testId="zoom-image"
          />
          <p className="zoom-caption" data-testid="zoom-caption">
            Level: {target.levelLabel} · seed {target.seed} · sample {target.index + 1} · {target.image.width}×
            {target.image.height} px
          </p>
          <fieldset className="zoom-scaling">
            <legend>Enlarge with</legend>
            <label>
              <input
                type="radio"
                name="zoom-scaling"
                checked={!smooth}
                onChange={() => setSmooth(false)}
                data-testid="zoom-nearest"
              />
              nearest (the real pixels)
            </label>
            <label>
              <input
                type="radio"
                name="zoom-scaling"
                checked={smooth}
                onChange={() => setSmooth(true)}
                data-testid="zoom-smooth"
              />
              smooth
            </label>
          </fieldset>
        </>
      )}
    </dialog>
  );
}

export function SampleZoomProvider({ children }: { children: ReactNode }) {
  const [target, setTarget] = useState<ZoomTarget | null>(null);
  return (
    <ZoomContext value={setTarget}>
      {children}
      <ZoomDialog target={target} onClose={() => setTarget(null)} />
    </ZoomContext>
  );
}

/** A sample that opens the zoom dialog when activated (click, Enter or Space). */
export function ZoomableSample({ target, label, level }: { target: ZoomTarget; label: string; level: number | 'lag' }) {
  const open = use(ZoomContext);
  return (
    <button type="button" className="sample-button" onClick={() => open(target)} aria-label={`${label}: look closely`}>
      <RgbaCanvas image={target.image} label={label} testId="sample" level={level} index={target.index} />
    </button>
  );
}
