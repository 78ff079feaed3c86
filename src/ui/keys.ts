// Keys that are not single-character shortcuts, so they stay on when those are turned off: Escape stops what runs.
import { useEffect } from 'react';
import type { PlaygroundStore } from '../state/store';

/** Escape stops a pack load, a grid or a LAG run; an open dialog gets it first (it closes instead). */
export function useStopOnEscape(store: PlaygroundStore) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented || document.querySelector('dialog[open]')) return;
      store.getState().stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}
