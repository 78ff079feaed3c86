// On a phone the results come after the input pane: when a person chooses another image there, the page scrolls to
// the samples, so that something visibly happens where they are looking.
import { useEffect } from 'react';
import type { PlaygroundStore } from '../state/store';

const PHONE_QUERY = '(max-width: 700px)';

export function useScrollToResultsOnPhones(store: PlaygroundStore) {
  useEffect(
    () =>
      store.subscribe((state, previous) => {
        // The first image (the default sample at startup) is not a choice: the page stays at its top.
        if (!previous.source || state.source === previous.source || !state.source) return;
        if (!globalThis.matchMedia?.(PHONE_QUERY).matches) return;
        document.getElementById('results-heading')?.scrollIntoView({ block: 'start' });
      }),
    [store],
  );
}
