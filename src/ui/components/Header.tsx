import { useState } from 'react';
import type { BackendRequest } from '../../engine/protocol';
import type { PackStatus } from '../../state/store';
import { BACKEND_CHOICES, urlWithBackend } from '../backendQuery';
import { STAGE_LABELS } from '../loadProgress';
import { usePlayground } from '../storeContext';
import { PackNeededNote, PackPicker } from './PackPicker';

import { DisplayControls } from './DisplayControls';

export function packStatusText(status: PackStatus, title: string | null): string {
  switch (status.phase) {
    case 'idle':
      return 'Starting…';
    // The status is a live region: it names the stage only, so it is announced once per stage, not per chunk (the
    // activity bar shows the bytes).
    case 'loading':
      return `Loading pack ${status.packId ?? ''}: ${status.stage ? STAGE_LABELS[status.stage] : ''}`;
    case 'ready':
      return `Pack ready: ${title ?? status.packId}${status.fromCache ? ' (from cache)' : ''}`;
    case 'error':
      return 'No pack loaded';
  }
}

function PackStatusLine() {
  const status = usePlayground((s) => s.packStatus);
  const pack = usePlayground((s) => s.pack);
  return (
    <div className="pack-status-line">
      <span data-testid="pack-status" className={`pack-status ${status.phase}`} aria-live="polite">
        {packStatusText(status, pack?.title ?? null)}
      </span>
      {pack?.preview && status.phase === 'ready' && (
        <span className="preview-notice" data-testid="preview-notice">
          preview pack (CPU-trained): samples are rough
        </span>
      )}
    </div>
  );
}

function BackendControls() {
  const backend = usePlayground((s) => s.backend);
  // The choice applies with the button (the page reloads on that backend), never on change alone (WCAG 3.2.2).
  const [chosen, setChosen] = useState<BackendRequest>(backend.requested);
  return (
    <div className="backend-controls">
      <span
        className="backend-badge"
        data-testid="backend-badge"
        title={backend.detail || undefined}
        aria-label={`Compute backend: ${backend.active ?? 'starting'}`}
      >
        {backend.active ? backend.active : 'starting…'}
        {backend.detail && <span className="backend-detail"> · {backend.detail}</span>}
      </span>
      <label className="inline-field">
        <span>Force backend</span>
        <select
          data-testid="backend-select"
          value={chosen}
          onChange={(e) => setChosen(e.target.value as BackendRequest)}
        >
          {BACKEND_CHOICES.map((choice) => (
            <option key={choice} value={choice}>
              {choice === 'auto' ? 'automatic' : choice}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        data-testid="backend-apply"
        disabled={chosen === backend.requested}
        onClick={() => window.location.assign(urlWithBackend(window.location.href, chosen))}
      >
        Apply and reload
      </button>
    </div>
  );
}

export function Header() {
  return (
    <header className="app-header">
      <div className="title-block">
        <h1>Pyramid Playground</h1>
        <p className="subtitle">Semantic Pyramid and LAG generators, running in your browser</p>
      </div>
      <div className="header-status">
        <PackStatusLine />
        <div className="header-controls">
          <PackPicker />
          <BackendControls />
          <DisplayControls />
        </div>
        <PackNeededNote />
      </div>
    </header>
  );
}
