import { useRef, useState } from 'react';
import { usePlayground } from '../storeContext';

async function copyText(text: string, fallbackField: HTMLInputElement | null): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // permission denied or insecure context: fall back to selecting the field
  }
  if (!fallbackField) return false;
  fallbackField.focus();
  fallbackField.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

/** The permalink: a copy button and the URL itself, always visible. */
export function SharePanel({ shareUrl }: { shareUrl: string | null }) {
  const field = useRef<HTMLInputElement>(null);
  const [copyState, setCopyState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const hasImage = usePlayground((s) => s.source !== null);
  return (
    <section className="pane share-panel" aria-labelledby="share-heading">
      <h2 id="share-heading">Share</h2>
      <div className="share-row">
        <label htmlFor="share-url" className="visually-hidden">
          Permalink to this exact view
        </label>
        <input
          id="share-url"
          ref={field}
          readOnly
          value={shareUrl ?? ''}
          data-testid="share-url"
          onFocus={(e) => e.target.select()}
        />
        <button
          type="button"
          className="primary"
          data-testid="share-button"
          disabled={!shareUrl}
          onClick={async () => {
            if (!shareUrl) return;
            setCopyState((await copyText(shareUrl, field.current)) ? 'copied' : 'failed');
            setTimeout(() => setCopyState('idle'), 2500);
          }}
        >
          Copy link
        </button>
      </div>
      <p className="hint" aria-live="polite">
        {copyState === 'copied'
          ? 'Link copied.'
          : copyState === 'failed'
            ? 'Copying was blocked: the link is selected, press Ctrl+C.'
            : `The link holds every setting${hasImage ? ', the painted mask and the input image' : ''}.`}
      </p>
    </section>
  );
}
