import { encodePermalink } from '../share/permalink';
import { toPermalinkState, type PlaygroundState } from '../state/store';

/** The hash (without '#') for the current state, or null while there is nothing consistent to share. */
export function hashForState(state: PlaygroundState): string | null {
  try {
    return encodePermalink(toPermalinkState(state));
  } catch {
    return null;
  }
}

export function shareUrlFor(href: string, hash: string): string {
  const url = new URL(href);
  url.hash = hash;
  return url.toString();
}
