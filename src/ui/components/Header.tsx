import type { BackendRequest } from '../../engine/protocol';
import type { PackStatus } from '../../state/store';
import { BACKEND_CHOICES, urlWithBackend } from '../backendQuery';
import { usePlayground } from '../storeContext';
import { PackNeededNote, PackPicker } from './PackPicker';

function formatBytes(bytes: number): string {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1)} MB`;
  return `${Math.max(0, Math.round(bytes / 1024))} KB`;
}

export function packStatusText(status: PackStatus, title: string | null): string {
  switch (status.phase) {
    case 'idle':
      return 'Starting…';
    case 'loading': {
      const bytes = status.total > 0 ? ` ${formatBytes(status.loaded)} / ${formatBytes(status.total)} (${Math.round((100 * status.loaded) / status.total)}%)` : '';
      return `Loading pack ${status.packId ?? ''}: ${status.stage ?? ''}${bytes}`;
    }
    case 'ready':
      return `Pack ready: ${title ?? status.packId}`;
    case 'error':
      return 'No pack loaded';
  }
}

function PackStatusLine() {
  const status = usePlayground((s) => s.packStatus);
  const pack = usePlayground((s) => s.pack);
  const progress = status.phase === 'loading' && status.total > 0 ? status.loaded / status.total : null;
  return (
    <div className="pack-status-line">
      <span data-testid="pack-status" className={`pack-status ${status.phase}`} aria-live="polite">
        {packStatusText(status, pack?.title ?? null)}
      </span>
      {progress !== null && <progress value={progress} max={1} aria-label="Pack download progress" />}
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
  return (
    <div className="backend-controls">
      <span className="backend-badge" data-testid="backend-badge" title={backend.detail || undefined} aria-label={`Compute backend: ${backend.active ?? 'starting'}`}>
        {backend.active ? backend.active : 'starting…'}
        {backend.detail && <span className="backend-detail"> · {backend.detail}</span>}
      </span>
      <label className="inline-field">
        <span>Force backend</span>
        <select
          value={backend.requested}
          onChange={(e) => window.location.assign(urlWithBackend(window.location.href, e.target.value as BackendRequest))}
        >
          {BACKEND_CHOICES.map((choice) => (
            <option key={choice} value={choice}>
              {choice === 'auto' ? 'automatic' : choice}
            </option>
          ))}
        </select>
      </label>
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
        </div>
        <PackNeededNote />
      </div>
    </header>
  );
}
