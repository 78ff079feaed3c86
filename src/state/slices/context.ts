// What the store's slices share: the zustand set/get, the outside world (PlaygroundEnv), the notices, the counters
// that tell a late answer from a current one, and each slice's internal operations the others call.
import type { NoticeKind, PlaygroundEnv, PlaygroundState, PreparedSource } from '../store';
import type { Settings } from './settings';

export interface Notices {
  push(list: 'errors' | 'warnings', kind: NoticeKind, message: string): void;
  clear(kind: NoticeKind): void;
}

export interface RunsInternals {
  /** Applies a settings change, takes results made with other settings off the screen, schedules the new run. */
  settingsChanged(patch: Partial<Settings>): void;
  /** Starts the request the current settings call for, unless its result is already shown or on its way. */
  run(force: boolean): void;
}

export interface SourceInternals {
  adoptSource(prepared: PreparedSource, mask?: Float32Array | null): Promise<void>;
  prepare(make: (imageSize: number) => Promise<PreparedSource>, failureIntro: string): Promise<void>;
  useDefaultSource(): Promise<void>;
  /** An image chosen before the pack (and so the model's image size) was known. */
  pendingBlob: { blob: Blob; name: string; notes: string[] } | null;
}

export interface SliceContext {
  set(patch: Partial<PlaygroundState>): void;
  get(): PlaygroundState;
  env: PlaygroundEnv;
  notices: Notices;
  /** Bumped for every new source image / mask, so late answers for old ones are ignored. */
  versions: { source: number; mask: number };
  runs: RunsInternals;
  source: SourceInternals;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
