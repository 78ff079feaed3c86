import { useEffect, useMemo, useRef } from 'react';
import { decodePermalink } from '../share/permalink';
import type { PlaygroundStore } from '../state/store';
import { getPreferences } from './preferences';
import { hashForState, shareUrlFor } from './shareUrl';
import { isTypingTarget, keyLikeOf, shortcutFor } from './shortcuts';
import { usePlayground } from './storeContext';

/** R re-rolls, 1-7 pick a level, C toggles compare, ? opens the help — not while typing in a field, not in a
 * dialog, and not at all when single-key shortcuts are turned off. */
export function useKeyboardShortcuts(store: PlaygroundStore, onHelp: () => void = () => {}) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!getPreferences().shortcuts || document.querySelector('dialog[open]')) return;
      const action = shortcutFor(keyLikeOf(event));
      if (!action) return;
      const state = store.getState();
      if (action.type === 'help') onHelp();
      else if (action.type === 'reroll') state.rerollSeed();
      else if (action.type === 'toggleCompare') state.toggleCompare();
      else state.setLevel(action.level);
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store, onHelp]);
}

/** Pasting an image anywhere (outside text fields) opens it; pasting text explains what is expected. */
export function usePasteImages(store: PlaygroundStore) {
  useEffect(() => {
    const onPaste = (event: ClipboardEvent) => {
      if (isTypingTarget(event.target as HTMLElement | null)) return;
      const items = Array.from(event.clipboardData?.items ?? []);
      const imageItem = items.find((item) => item.kind === 'file' && item.type.startsWith('image/'));
      const file = imageItem?.getAsFile();
      event.preventDefault();
      if (file) {
        void store.getState().openImageBlob(file, file.name || 'pasted image');
      } else if (items.some((item) => item.kind === 'string')) {
        store
          .getState()
          .reportError(
            'input',
            'The clipboard holds text, not an image. Copy an image (for example with "Copy image" in a browser) and paste again.',
          );
      } else {
        store
          .getState()
          .reportError('input', 'The clipboard holds nothing this app can open. Copy an image and paste again.');
      }
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [store]);
}

/** True once the results the current settings call for are on the screen (or have failed or been stopped). */
function resultsSettled(s: ReturnType<PlaygroundStore['getState']>): boolean {
  const status = s.mode === 'sp' ? s.grid?.status : s.lag?.status;
  return status !== undefined && status !== 'running';
}

/**
 * Keeps the URL hash equal to the current state once startup has settled, and applies links pasted into the
 * address bar and the hashes Back and Forward return to. A change made after the previous settings had settled
 * (their results shown) gets a history entry of its own; changes while results are still coming replace the
 * current entry, so a burst of edits is one step of Back. Returns the full share URL.
 */
export function useHashSync(store: PlaygroundStore): string | null {
  const ready = usePlayground((s) => s.shareReady);
  const hash = usePlayground((s) => (s.shareReady ? hashForState(s) : null));
  const settled = usePlayground(resultsSettled);
  const lastWritten = useRef<string | null>(null);
  /** The current history entry's settings have been shown: the next change pushes a new entry. */
  const entrySettled = useRef(false);

  useEffect(() => {
    if (settled) entrySettled.current = true;
  }, [settled]);

  useEffect(() => {
    if (!ready || hash === null) return;
    if (window.location.hash.slice(1) !== hash) {
      if (entrySettled.current && lastWritten.current !== null) history.pushState(null, '', `#${hash}`);
      else history.replaceState(history.state, '', `#${hash}`);
      entrySettled.current = false;
    }
    lastWritten.current = hash;
  }, [ready, hash]);

  useEffect(() => {
    const onHashChange = () => {
      const current = window.location.hash.slice(1);
      if (current === lastWritten.current) return;
      // A hash reached by Back/Forward (or typed) is the entry itself: applying it must not push another.
      entrySettled.current = false;
      const result = decodePermalink(current);
      if (result.ok) return void store.getState().applyLink(result.state);
      store.getState().reportError('link', result.error.message);
      // The refused link leaves the address: the bar (and a reload) keeps showing what actually runs.
      if (lastWritten.current !== null) history.replaceState(history.state, '', `#${lastWritten.current}`);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, [store]);

  return useMemo(() => (hash === null ? null : shareUrlFor(window.location.href, hash)), [hash]);
}
