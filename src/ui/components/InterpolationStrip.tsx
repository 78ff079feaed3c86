import { useEffect, useRef, useState } from 'react';
import { MAX_INTERP_FRAMES, MIN_INTERP_FRAMES } from '../../engine/interpolation';
import type { RgbaImage } from '../../engine/protocol';
import { MAX_SEED } from '../../share/permalink';
import { downloadBytes, paintCanvas } from '../imageIO';
import { usePlayground, usePlaygroundStore } from '../storeContext';
import { encodeAnimationGif, pingPongOrder } from './InterpolationExport';
import { canRecordWebm, recordAnimationWebm } from './InterpolationVideo';
import { NumberField } from './NumberField';
import { PendingCell, RgbaCanvas } from './RgbaCanvas';

const FRAME_MS = 125;
const NO_CLASSES: string[] = [];

/** The frames played forth and back in a loop (paused for people who ask for reduced motion). */
function AnimationPreview({ frames }: { frames: RgbaImage[] }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || frames.length === 0) return;
    const order = pingPongOrder(frames.length);
    const still = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;
    let step = 0;
    paintCanvas(canvas, frames[0]);
    if (still) return;
    const timer = setInterval(() => {
      step = (step + 1) % order.length;
      paintCanvas(canvas, frames[order[step]]);
    }, FRAME_MS);
    return () => clearInterval(timer);
  }, [frames]);
  return (
    <canvas
      ref={ref}
      className="pixel-image interp-animation"
      role="img"
      aria-label="The interpolation as a looping animation"
      data-testid="interp-animation"
    />
  );
}

function EndpointControls() {
  const mode = usePlayground((s) => s.mode);
  const seed = usePlayground((s) => s.seed);
  const seedB = usePlayground((s) => s.seedB);
  const classB = usePlayground((s) => s.classB);
  const frames = usePlayground((s) => s.interpFrames);
  const classNames = usePlayground((s) => s.pack?.classNames ?? NO_CLASSES);
  const { setSeedB, setClassB, setInterpFrames } = usePlaygroundStore().getState();
  return (
    <div className="interp-controls">
      <p className="hint">
        From seed {seed} to the second seed
        {mode === 'sp'
          ? ', and from the class to the second class (blended in the generator)'
          : ' (two LAG noise draws)'}
        .
      </p>
      <NumberField
        id="interp-seed-b"
        label="Second seed"
        value={seedB}
        min={0}
        max={MAX_SEED}
        testId="interp-seed-b"
        onCommit={setSeedB}
      />
      {mode === 'sp' && (
        <div className="field">
          <label htmlFor="interp-class-b">Second class</label>
          <select
            id="interp-class-b"
            data-testid="interp-class-b"
            value={classB === null ? 'same' : String(classB)}
            onChange={(e) => setClassB(e.target.value === 'same' ? null : Number(e.target.value))}
          >
            <option value="same">Same class</option>
            {classNames.map((name, index) => (
              <option key={index} value={index}>
                {name}
              </option>
            ))}
          </select>
        </div>
      )}
      <NumberField
        id="interp-frames"
        label="Frames"
        value={frames}
        min={MIN_INTERP_FRAMES}
        max={MAX_INTERP_FRAMES}
        testId="interp-frames"
        onCommit={setInterpFrames}
      />
    </div>
  );
}

/** Interpolation between two samples: the switch, the endpoints, a strip of frames, a looping animation, a GIF. */
export function InterpolationStrip() {
  const on = usePlayground((s) => s.interpolate);
  const view = usePlayground((s) => s.interpolation);
  const toggle = usePlayground((s) => s.toggleInterpolate);
  const reportError = usePlayground((s) => s.reportError);
  const store = usePlaygroundStore();
  const [exporting, setExporting] = useState(false);
  const images = view?.status === 'done' ? view.images : null;

  const exportAnimation = (format: 'gif' | 'webm') => {
    if (!images) return;
    setExporting(true);
    // The encoder runs after this click's paint, so the button shows its busy state first.
    setTimeout(async () => {
      try {
        const s = store.getState();
        const scale = Math.max(1, Math.floor(128 / images[0].width));
        const name = `interpolation-${s.pack?.id ?? 'pack'}-${s.mode}-seed${s.seed}-${s.seedB}`;
        if (format === 'gif') {
          downloadBytes(encodeAnimationGif(images, { scale, delayMs: FRAME_MS }), `${name}.gif`, 'image/gif');
        } else {
          const video = await recordAnimationWebm(images, { scale, delayMs: FRAME_MS });
          downloadBytes(new Uint8Array(await video.arrayBuffer()), `${name}.webm`, 'video/webm');
        }
      } catch (error) {
        reportError(
          'input',
          `The animation could not be exported: ${error instanceof Error ? error.message : String(error)}`,
        );
      } finally {
        setExporting(false);
      }
    }, 0);
  };

  return (
    <section className="interpolation" aria-label="Interpolation between two samples">
      <div className="pane-title-row">
        <button type="button" aria-pressed={on} data-testid="interpolate-toggle" onClick={toggle}>
          {on ? 'Interpolation on' : 'Interpolate'}
        </button>
        {on && (
          <button
            type="button"
            data-testid="export-animation"
            disabled={!images || exporting}
            onClick={() => exportAnimation('gif')}
          >
            {exporting ? 'Exporting…' : 'Export GIF'}
          </button>
        )}
        {on && canRecordWebm() && (
          <button
            type="button"
            data-testid="export-video"
            disabled={!images || exporting}
            onClick={() => exportAnimation('webm')}
          >
            {exporting ? 'Exporting…' : 'Export WebM'}
          </button>
        )}
      </div>
      {on && (
        <>
          <EndpointControls />
          <p className="grid-status" aria-live="polite" data-testid="interp-status">
            {!view || view.status === 'running'
              ? 'Interpolating…'
              : view.status === 'done'
                ? `${view.frames} frames in ${Math.round(view.ms ?? 0)} ms`
                : 'Interpolation failed.'}
          </p>
          <div className="interp-row">
            {images && <AnimationPreview frames={images} />}
            <div className="cells interp-strip" data-testid="interp-strip">
              {Array.from({ length: view?.frames ?? 0 }, (_, index) =>
                images?.[index] ? (
                  <RgbaCanvas
                    key={index}
                    image={images[index]}
                    label={`Frame ${index + 1}`}
                    testId="interp-frame"
                    index={index}
                  />
                ) : (
                  <PendingCell key={index} label={`Frame ${index + 1}, generating`} />
                ),
              )}
            </div>
          </div>
        </>
      )}
    </section>
  );
}
