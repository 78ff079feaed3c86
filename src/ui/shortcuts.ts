// Keyboard shortcuts: R re-rolls the seed, 1-7 pick a level, C toggles compare, ? opens the help. Never while
// typing, and never when a person has turned single-key shortcuts off (src/ui/preferences.ts).
import { LEVEL_COUNT } from '../engine/levels';

export type ShortcutAction =
  { type: 'reroll' } | { type: 'level'; level: number } | { type: 'toggleCompare' } | { type: 'help' };

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: { tagName?: string; isContentEditable?: boolean; type?: string } | null;
}

const TEXT_INPUT_TYPES = new Set(['text', 'number', 'search', 'url', 'email', 'password', 'tel', '']);

export function isTypingTarget(target: KeyLike['target']): boolean {
  if (!target) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName?.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  return tag === 'INPUT' && TEXT_INPUT_TYPES.has((target.type ?? '').toLowerCase());
}

/**
 * The fields of a DOM KeyboardEvent that decide a shortcut. They are read one by one: the modifier flags are getters
 * on KeyboardEvent.prototype, which an object spread (`{ ...event }`) does not copy.
 */
export function keyLikeOf(event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'>): KeyLike {
  const { key, ctrlKey, metaKey, altKey } = event;
  return { key, ctrlKey, metaKey, altKey, target: event.target as KeyLike['target'] };
}

/** Modified keys (Ctrl/Cmd/Alt) are the browser's and the system's shortcuts: they are never taken. */
export function shortcutFor(event: KeyLike): ShortcutAction | null {
  if (event.ctrlKey || event.metaKey || event.altKey || isTypingTarget(event.target)) return null;
  const key = event.key.toLowerCase();
  if (key === 'r') return { type: 'reroll' };
  if (key === 'c') return { type: 'toggleCompare' };
  if (key === '?') return { type: 'help' };
  const digit = /^[1-9]$/.test(key) ? Number(key) : 0;
  if (digit >= 1 && digit <= LEVEL_COUNT) return { type: 'level', level: digit - 1 };
  return null;
}
