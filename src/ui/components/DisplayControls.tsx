// The header's display controls: Help, the light/dark theme, and single-key shortcuts on or off. The theme and the
// shortcuts choice are kept in localStorage (src/ui/preferences.ts); the theme is applied as <html data-theme>.
import { createContext, use, useEffect, useSyncExternalStore } from 'react';
import { setPreference, usePreference, type ThemeChoice } from '../preferences';

/** Opens the help panel (App owns it; the header's button and the ? key share it). */
export const HelpContext = createContext<() => void>(() => {});

const darkQuery = () => globalThis.matchMedia?.('(prefers-color-scheme: dark)');

function useSystemPrefersDark(): boolean {
  return useSyncExternalStore(
    (listener) => {
      const query = darkQuery();
      query?.addEventListener('change', listener);
      return () => query?.removeEventListener('change', listener);
    },
    () => darkQuery()?.matches ?? false,
  );
}

/** The theme in force: the stored choice, or the system's when none was made. */
export function effectiveTheme(choice: ThemeChoice, systemDark: boolean): 'light' | 'dark' {
  return choice === 'system' ? (systemDark ? 'dark' : 'light') : choice;
}

function ThemeToggle() {
  const choice = usePreference('theme');
  const systemDark = useSystemPrefersDark();
  const theme = effectiveTheme(choice, systemDark);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return (
    <button
      type="button"
      data-testid="theme-toggle"
      aria-pressed={theme === 'dark'}
      title={choice === 'system' ? 'Following the system theme' : `Chosen: ${choice}`}
      onClick={() => setPreference('theme', theme === 'dark' ? 'light' : 'dark')}
    >
      Dark mode
    </button>
  );
}

function ShortcutsToggle() {
  const on = usePreference('shortcuts');
  return (
    <label className="inline-field shortcuts-field">
      <input
        type="checkbox"
        data-testid="shortcuts-toggle"
        checked={on}
        onChange={(e) => setPreference('shortcuts', e.target.checked)}
      />
      <span>Single-key shortcuts</span>
    </label>
  );
}

export function DisplayControls() {
  const openHelp = use(HelpContext);
  return (
    <div className="display-controls">
      <button type="button" data-testid="help-button" onClick={openHelp} aria-haspopup="dialog" title="Help (?)">
        Help
      </button>
      <ThemeToggle />
      <ShortcutsToggle />
    </div>
  );
}
