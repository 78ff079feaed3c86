// Help (key ? or the Help button): what each pyramid level keeps, with an example row; what LAG shows; where the
// loaded pack comes from and how it measured; the keys. A modal <dialog>: Escape and the Close button close it, and
// focus returns to what had it.
import { useEffect, useRef } from 'react';
import { LEVELS } from '../../engine/levels';
import { usePreference } from '../preferences';
import { usePlayground } from '../storeContext';
import { MetricsView } from './MetricsView';

type Json = unknown;
const isRecord = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function LevelsHelp() {
  return (
    <section aria-labelledby="help-levels">
      <h3 id="help-levels">The pyramid levels</h3>
      <p>
        Semantic Pyramid takes the features a classifier (VGG-16) sees in your image at one level and draws new images
        that share them. Low levels keep the picture itself; high levels keep only what the picture is about.
      </p>
      <figure className="help-example">
        <img
          src="help/levels-example.png"
          alt="An airliner, then one sample for each level from stride 2 to FC8"
          width={540}
          height={64}
        />
        <figcaption className="help-example-labels">
          <span>source</span>
          {LEVELS.map((level) => (
            <span key={level.index}>{level.label.split(' · ')[0]}</span>
          ))}
        </figcaption>
      </figure>
      <table className="help-levels-table">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Level</th>
            <th scope="col">What it keeps</th>
          </tr>
        </thead>
        <tbody>
          {LEVELS.map((level) => (
            <tr key={level.index}>
              <td>
                <kbd>{level.index + 1}</kbd>
              </td>
              <td>{level.label}</td>
              <td>{level.hint}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function LagHelp() {
  return (
    <section aria-labelledby="help-lag">
      <h3 id="help-lag">What LAG shows</h3>
      <p>
        LAG (latent adversarial generation) enlarges a tiny image: it shrinks your image to the pack&apos;s low
        resolution, then draws several high-resolution candidates that all shrink back to that same input. They differ
        where the small image does not say what was there. The spread map is bright where the candidates disagree; the
        noise amplitude sets how far they may wander (0 gives one answer).
      </p>
      <figure className="help-example">
        <img
          src="help/lag-example.png"
          alt="An airliner, its low-resolution version, and five LAG candidates"
          width={708}
          height={98}
        />
        <figcaption>Source, its low-resolution input, then candidates.</figcaption>
      </figure>
    </section>
  );
}

function PackHelp() {
  const pack = usePlayground((s) => s.pack);
  if (!pack) return null;
  const metrics = pack.metrics && Object.keys(pack.metrics).length > 0 ? pack.metrics : null;
  const judge = metrics && isRecord(metrics.judge) ? metrics.judge : null;
  const measured = metrics ? Object.fromEntries(Object.entries(metrics).filter(([key]) => key !== 'judge')) : null;
  const provenance = pack.provenance && Object.keys(pack.provenance).length > 0 ? pack.provenance : null;
  return (
    <section aria-labelledby="help-pack" data-testid="help-pack">
      <h3 id="help-pack">This pack: {pack.title}</h3>
      <p>
        <code>{pack.id}</code>, {pack.imageSize}×{pack.imageSize} px, {pack.classNames.length} classes,{' '}
        {(pack.bytes / 1048576).toFixed(1)} MB, digest <code>{pack.digest.slice(0, 12)}</code>
        {pack.preview ? ' (a preview pack: rough samples)' : ''}.
      </p>
      {provenance ? (
        <details className="help-provenance">
          <summary>How it was made (provenance)</summary>
          <MetricsView value={provenance} title="Provenance" />
        </details>
      ) : (
        <p>The pack says nothing about how it was made.</p>
      )}
      {judge && (
        <div className="help-judge" data-testid="help-judge">
          <h4>Judge-graded figures</h4>
          <p className="hint">Graded by a separate judge model, as recorded in the pack.</p>
          <MetricsView value={judge} title="Judge-graded" />
        </div>
      )}
      {measured && Object.keys(measured).length > 0 ? (
        <div data-testid="help-metrics">
          <h4>Measured by the export (automatic metrics, not judge-graded)</h4>
          <MetricsView value={measured} title="Metrics" />
        </div>
      ) : (
        !judge && <p>The pack carries no metrics.</p>
      )}
    </section>
  );
}

function ShortcutsHelp() {
  const shortcutsOn = usePreference('shortcuts');
  return (
    <section aria-labelledby="help-keys">
      <h3 id="help-keys">Keys</h3>
      {!shortcutsOn && (
        <p>Single-key shortcuts are off (the Single-key shortcuts box in the header); Escape still works.</p>
      )}
      <dl className="help-keys">
        <div>
          <dt>
            <kbd>R</kbd>
          </dt>
          <dd>re-roll the seed</dd>
        </div>
        <div>
          <dt>
            <kbd>1</kbd>–<kbd>7</kbd>
          </dt>
          <dd>pick a pyramid level</dd>
        </div>
        <div>
          <dt>
            <kbd>C</kbd>
          </dt>
          <dd>compare all levels</dd>
        </div>
        <div>
          <dt>
            <kbd>?</kbd>
          </dt>
          <dd>this help</dd>
        </div>
        <div>
          <dt>
            <kbd>Esc</kbd>
          </dt>
          <dd>stop what is running, or close this panel</dd>
        </div>
      </dl>
    </section>
  );
}

export function HelpPanel({ open, onClose }: { open: boolean; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);
  return (
    <dialog ref={dialog} className="help-panel" data-testid="help-panel" aria-labelledby="help-title" onClose={onClose}>
      <div className="dialog-title-row">
        <h2 id="help-title">Help</h2>
        <button type="button" onClick={onClose} data-testid="help-close">
          Close
        </button>
      </div>
      {open && (
        <>
          <LevelsHelp />
          <LagHelp />
          <PackHelp />
          <ShortcutsHelp />
        </>
      )}
    </dialog>
  );
}
