import { useState, type DragEvent } from 'react';
import { decideDrop, type DroppedEntry } from '../dropFiles';
import { usePlayground } from '../storeContext';
import { MaskPainter } from './MaskPainter';
import { CompositeEditor } from './CompositeEditor';
import { RgbaCanvas } from './RgbaCanvas';
import { SketchPad } from './SketchPad';

/** Project-made sample images (public/samples, CC0). */
export const SAMPLE_IMAGES = [
  { file: 'ship.png', name: 'ship' },
  { file: 'sky-and-sea.png', name: 'sky and sea' },
  { file: 'red-car.png', name: 'red car' },
  { file: 'horse.png', name: 'horse on grass' },
  { file: 'airplane.png', name: 'airplane' },
];

function DropZone() {
  const openImageBlob = usePlayground((s) => s.openImageBlob);
  const reportError = usePlayground((s) => s.reportError);
  const [dragging, setDragging] = useState(false);

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const transfer = event.dataTransfer;
    const files = Array.from(transfer.files);
    const fileItems = Array.from(transfer.items ?? []).filter((item) => item.kind === 'file');
    const entries: DroppedEntry[] = files.map((file, index) => {
      const entry = fileItems[index]?.webkitGetAsEntry?.() ?? null;
      return { name: file.name, type: file.type, isDirectory: entry?.isDirectory === true };
    });
    const decision = decideDrop(entries, transfer.getData('text/plain') !== '');
    if (decision.kind === 'error') return reportError('input', decision.message);
    const file = files[decision.index];
    void openImageBlob(file, file.name, decision.warning ? [decision.warning] : []);
  };

  return (
    <div
      className={`drop-zone ${dragging ? 'dragging' : ''}`}
      data-testid="drop-zone"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <p>Drop an image here, paste one with Ctrl+V, or</p>
      <label className="button primary file-button">
        Choose a file
        <input
          type="file"
          accept="image/*"
          className="visually-hidden"
          data-testid="file-input"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void openImageBlob(file, file.name);
            e.target.value = '';
          }}
        />
      </label>
    </div>
  );
}

function Gallery() {
  const openSampleUrl = usePlayground((s) => s.openSampleUrl);
  const ready = usePlayground((s) => s.packStatus.phase === 'ready');
  return (
    <div className="gallery" role="group" aria-label="Sample images">
      {SAMPLE_IMAGES.map((sample) => (
        <button
          key={sample.file}
          type="button"
          className="gallery-item"
          disabled={!ready}
          onClick={() => void openSampleUrl(`samples/${sample.file}`, sample.name)}
          title={`Use the sample "${sample.name}"`}
        >
          <img src={`samples/${sample.file}`} alt={sample.name} width={48} height={48} />
        </button>
      ))}
    </div>
  );
}

function PredictionLine() {
  const prediction = usePlayground((s) => s.prediction);
  const classNames = usePlayground((s) => s.pack?.classNames);
  const status = usePlayground((s) => s.sourceStatus);
  if (status === 'preparing' || status === 'extracting') return <p className="prediction">Analysing…</p>;
  if (!prediction || !classNames) return null;
  return (
    <p className="prediction" data-testid="prediction">
      Classifier: <strong>{classNames[prediction.classIndex] ?? `class ${prediction.classIndex}`}</strong> (
      {Math.round(prediction.confidence * 100)}%)
    </p>
  );
}

export function InputPane() {
  const source = usePlayground((s) => s.source);
  const mask = usePlayground((s) => s.mask);
  const mode = usePlayground((s) => s.mode);
  const setMask = usePlayground((s) => s.setMask);
  const [view, setView] = useState<'image' | 'sketch' | 'composite'>('image');
  return (
    <section className="pane input-pane" aria-labelledby="input-heading">
      <h2 id="input-heading">Input</h2>
      <div className="source-switch" role="group" aria-label="Where the source comes from">
        <button
          type="button"
          aria-pressed={view === 'image'}
          data-testid="source-image"
          onClick={() => setView('image')}
        >
          Image
        </button>
        <button
          type="button"
          aria-pressed={view === 'sketch'}
          data-testid="source-sketch"
          onClick={() => setView('sketch')}
        >
          Sketch
        </button>
        <button
          type="button"
          aria-pressed={view === 'composite'}
          data-testid="source-composite"
          onClick={() => setView('composite')}
        >
          Composite
        </button>
      </div>
      {view === 'image' && (
        <>
          <DropZone />
          <Gallery />
        </>
      )}
      {view === 'sketch' && <SketchPad />}
      {view === 'composite' && <CompositeEditor />}
      {source && (
        <div className="source-views">
          <figure>
            {source.originalUrl ? (
              <img className="original-image" src={source.originalUrl} alt={`Original: ${source.name}`} />
            ) : (
              <RgbaCanvas image={source.image} label="Image from the link" className="original-image" />
            )}
            <figcaption>Original{source.originalUrl ? '' : ' (from the link)'}</figcaption>
          </figure>
          <figure>
            {mode === 'sp' ? (
              <MaskPainter image={source.image} mask={mask} onCommit={setMask} />
            ) : (
              <RgbaCanvas
                image={source.image}
                label={`Model input, ${source.image.width} by ${source.image.height} pixels`}
                testId="model-input"
              />
            )}
            <figcaption>
              Model input, {source.image.width}×{source.image.height}
            </figcaption>
          </figure>
        </div>
      )}
      <PredictionLine />
    </section>
  );
}
