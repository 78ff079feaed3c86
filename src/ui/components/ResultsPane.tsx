import { useMemo } from 'react';
import type { RgbaImage } from '../../engine/protocol';
import { DEFAULT_LEVELS, levelLabel } from '../../engine/levels';
import type { GridResult, LagView as LagViewState, PlaygroundState } from '../../state/store';
import { downloadPng } from '../imageIO';
import { composeSheet, upscaleNearest } from '../pixels';
import { usePlayground, usePlaygroundStore } from '../storeContext';
import { InterpolationStrip } from './InterpolationStrip';
import { PendingCell, RgbaCanvas } from './RgbaCanvas';
import { SampleZoomProvider, ZoomableSample } from './SampleZoom';

function GridRow({
  level,
  label,
  source,
  images,
  samples,
}: {
  level: number;
  label: string;
  source: RgbaImage;
  images: RgbaImage[] | undefined;
  samples: number;
}) {
  const seed = usePlayground((s) => s.seed);
  return (
    <div className="grid-row" role="row" data-row-level={level}>
      <div className="row-label" role="rowheader">
        {label}
      </div>
      <div className="cells" role="cell">
        <RgbaCanvas image={source} label="Source image" className="source-cell" />
        {Array.from({ length: samples }, (_, index) =>
          images?.[index] ? (
            <ZoomableSample
              key={index}
              target={{ image: images[index], levelLabel: label, seed, index }}
              label={`${label}, sample ${index + 1}`}
              level={level}
            />
          ) : (
            <PendingCell key={index} label={`${label}, sample ${index + 1}, generating`} />
          ),
        )}
      </div>
    </div>
  );
}

function GridStatus({ grid }: { grid: GridResult | null }) {
  const sourceStatus = usePlayground((s) => s.sourceStatus);
  let text = '';
  if (sourceStatus === 'preparing' || sourceStatus === 'extracting') text = 'Analysing the image…';
  else if (!grid) text = '';
  else if (grid.status === 'running')
    text = `Generating… ${Object.keys(grid.rows).length} of ${grid.levels.length} rows`;
  else if (grid.status === 'done') text = `Generated in ${Math.round(grid.ms ?? 0)} ms`;
  else if (grid.status === 'stopped')
    text = `Stopped with ${grid.levels.length} finished row${grid.levels.length === 1 ? '' : 's'}.`;
  else text = 'Generation failed.';
  return (
    <p className="grid-status" aria-live="polite" data-testid="grid-status">
      {text}
    </p>
  );
}

function SemanticPyramidResults() {
  const grid = usePlayground((s) => s.grid);
  const source = usePlayground((s) => s.source);
  const levels = usePlayground((s) => s.pack?.levels ?? DEFAULT_LEVELS);
  const compare = usePlayground((s) => s.compare);
  const level = usePlayground((s) => s.level);
  if (!source) return <p className="empty">Open an image to start.</p>;
  const samples = grid?.samples ?? 0;
  const rowLevels = grid?.levels ?? [];
  const label = (l: number) => levelLabel(levels[l] ?? DEFAULT_LEVELS[l]);
  // One table either way; the compare grid names its columns, since its rows are the levels.
  return (
    <>
      <GridStatus grid={grid} />
      <div
        className={compare ? 'sample-grid compare-grid' : 'sample-grid'}
        data-testid={compare ? 'compare-grid' : 'sample-grid'}
        role="table"
        aria-label={compare ? 'Samples for every pyramid level' : `Samples for ${label(level)}`}
        // A grid wider than the pane scrolls: keyboard users must be able to focus it to scroll it (WCAG 2.1.1).
        // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
        tabIndex={0}
      >
        {compare && (
          <div className="grid-header" role="row">
            <span role="columnheader">Level</span>
            <span role="columnheader">Source, then samples</span>
          </div>
        )}
        {rowLevels.map((l) => (
          <GridRow key={l} level={l} label={label(l)} source={source.image} images={grid?.rows[l]} samples={samples} />
        ))}
      </div>
    </>
  );
}

function LagResults({ lag }: { lag: LagViewState | null }) {
  const source = usePlayground((s) => s.source);
  const scale = usePlayground((s) => s.pack?.lag.scale ?? 4);
  const seed = usePlayground((s) => s.seed);
  const result = lag?.result;
  const upscaled = useMemo(() => (result ? upscaleNearest(result.lr, scale) : null), [result, scale]);
  if (!source) return <p className="empty">Open an image to start.</p>;
  return (
    <>
      <p className="grid-status" aria-live="polite" data-testid="grid-status">
        {!lag
          ? ''
          : lag.status === 'running'
            ? 'Generating candidates…'
            : lag.status === 'done'
              ? `Generated in ${Math.round(result?.ms ?? 0)} ms`
              : lag.status === 'stopped'
                ? 'Stopped.'
                : 'LAG failed.'}
      </p>
      <div className="lag-view" data-testid="lag-view">
        <div className="lag-inputs">
          <figure>
            {result ? (
              <RgbaCanvas image={result.lr} label="Low-resolution input" testId="lag-lr" />
            ) : (
              <PendingCell label="Low-resolution input" />
            )}
            <figcaption>Input, {result ? `${result.lr.width}×${result.lr.height}` : '…'}</figcaption>
          </figure>
          <figure>
            {upscaled ? (
              <RgbaCanvas image={upscaled} label="Nearest-neighbour enlargement" />
            ) : (
              <PendingCell label="Nearest-neighbour enlargement" />
            )}
            <figcaption>Nearest-neighbour ×{scale}</figcaption>
          </figure>
          <figure>
            {result ? (
              <RgbaCanvas image={result.stdMap} label="Per-pixel spread across candidates" testId="lag-std" />
            ) : (
              <PendingCell label="Spread map" />
            )}
            <figcaption>Spread (std) across candidates{result ? `, max ${result.maxStd.toFixed(3)}` : ''}</figcaption>
          </figure>
        </div>
        <h3>Candidates</h3>
        <div className="cells lag-candidates">
          {Array.from({ length: lag?.status === 'stopped' ? 0 : (lag?.candidates ?? 0) }, (_, index) =>
            result?.candidates[index] ? (
              <ZoomableSample
                key={index}
                target={{ image: result.candidates[index], levelLabel: 'LAG candidate', seed, index }}
                label={`Candidate ${index + 1}`}
                level="lag"
              />
            ) : (
              <PendingCell key={index} label={`Candidate ${index + 1}, generating`} />
            ),
          )}
        </div>
      </div>
    </>
  );
}

/** The rows of the current view as they appear in the downloaded PNG; null when there is nothing to save. */
export function sheetRows(s: PlaygroundState): (RgbaImage | null)[][] | null {
  if (!s.source) return null;
  if (s.mode === 'lag') {
    const result = s.lag?.result;
    if (!result) return null;
    return [[upscaleNearest(result.lr, s.pack?.lag.scale ?? 4), ...result.candidates, result.stdMap]];
  }
  const grid = s.grid;
  if (!grid || Object.keys(grid.rows).length === 0) return null;
  const source = s.source.image;
  return grid.levels.map((l) => [source, ...Array.from({ length: grid.samples }, (_, i) => grid.rows[l]?.[i] ?? null)]);
}

function DownloadButton() {
  const store = usePlaygroundStore();
  const available = usePlayground((s) => sheetRows(s) !== null);
  const reportError = usePlayground((s) => s.reportError);
  const save = () => {
    const s = store.getState();
    const rows = sheetRows(s);
    if (!rows) return;
    const cellSize = Math.max(...rows.flat().map((image) => image?.width ?? 1));
    const sheet = composeSheet(rows, { scale: Math.max(1, Math.floor(128 / cellSize)), gap: 4 });
    const view = s.mode === 'lag' ? 'lag' : s.compare ? 'compare' : `level${s.level}`;
    downloadPng(sheet, `pyramid-${s.pack?.id ?? 'pack'}-${view}-seed${s.seed}.png`).catch((error) =>
      reportError('input', `The grid could not be saved: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  return (
    <button type="button" data-testid="download-grid" disabled={!available} onClick={save}>
      Download grid
    </button>
  );
}

export function ResultsPane() {
  const mode = usePlayground((s) => s.mode);
  const lag = usePlayground((s) => s.lag);
  return (
    <section className="pane results-pane" aria-labelledby="results-heading">
      <div className="pane-title-row">
        <h2 id="results-heading">{mode === 'lag' ? 'LAG candidates' : 'Samples'}</h2>
        <DownloadButton />
      </div>
      <SampleZoomProvider>{mode === 'lag' ? <LagResults lag={lag} /> : <SemanticPyramidResults />}</SampleZoomProvider>
      <InterpolationStrip />
    </section>
  );
}
