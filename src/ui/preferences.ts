// A person's display preferences, kept in localStorage (they are not settings of a run, so the permalink leaves them
// out): single-key shortcuts on or off (WCAG 2.1.4) and the colour theme. Read in React with usePreference.
import { useSyncExternalStore } from 'react';

export type ThemeChoice = 'system' | 'light' | 'dark';

export interface Preferences {
  shortcuts: boolean;
  theme: ThemeChoice;
}

const KEY = 'pyramid-playground:preferences';
const DEFAULTS: Preferences = { shortcuts: true, theme: 'system' };

function read(): Preferences {
  try {
    const stored = JSON.parse(globalThis.localStorage?.getItem(KEY) ?? '{}') as Partial<Preferences>;
    return {
      shortcuts: typeof stored.shortcuts === 'boolean' ? stored.shortcuts : DEFAULTS.shortcuts,
      theme:
        stored.theme === 'light' || stored.theme === 'dark' || stored.theme === 'system'
          ? stored.theme
          : DEFAULTS.theme,
    };
  } catch {
    return DEFAULTS; // storage blocked or a hand-edited value: the defaults
  }
}

let current: Preferences = read();
const listeners = new Set<() => void>();

export function getPreferences(): Preferences {
  return current;
}

export function setPreference<K extends keyof Preferences>(key: K, value: Preferences[K]): void {
  current = { ...current, [key]: value };
  try {
    globalThis.localStorage?.setItem(KEY, JSON.stringify(current));
  } catch {
    /* storage blocked (private mode): the choice lasts for this page */
  }
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function usePreference<K extends keyof Preferences>(key: K): Preferences[K] {
  return useSyncExternalStore(subscribe, () => current[key]);
}
