// The one zustand store of the playground, made of four slices (src/state/slices/): source (the input image and
// its features), settings (what a person chooses, as the permalink declares it), pack (pack, backend, links) and
// runs (the grid and LAG results). It is framework-free (zustand/vanilla) and talks to the outside world only
// through PlaygroundEnv, so the whole logic runs in Node tests with a fake engine. React reads it with useStore
// (see src/ui/storeContext.tsx).

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BackendName, BackendRequest, RgbaImage } from '../engine/protocol';
import { DEFAULT_PERMALINK_STATE, type PermalinkState } from '../share/permalink';
import type { LoadProgress, TimedLagResult } from '../engine/protocol';
import type { EngineApi } from './engineClient';
import type { KeptPackStore } from './keptPacks';
import type { Notices, SliceContext } from './slices/context';
import { createInterpolationSlice, type InterpolationActions, type InterpolationState } from './slices/interpolation';
import { createPackSlice, type PackActions, type PackState } from './slices/pack';
import { createRunsSlice, type RunsActions, type RunsState } from './slices/runs';
import { createSettingsSlice, linkFieldsOf, type Settings, type SettingsActions } from './slices/settings';
import { createSourceSlice, type SourceActions, type SourceState } from './slices/source';

export { effectiveClass, requestedLevels } from './slices/runs';
export { argmax } from './slices/source';
export type { Settings } from './slices/settings';

/** An input image ready for the models: the original for display, the model-size pixels, and their PNG. */
export interface PreparedSource {
  name: string;
  /** Displayable URL of the original (object URL or sample path); null when the image came from a link. */
  originalUrl: string | null;
  image: RgbaImage;
  png: Uint8Array;
  /** Things worth a visible note (a tiny, elongated, animated or transparent image), shown as warnings. */
  notes?: string[];
}

export interface PlaygroundEnv {
  engine: EngineApi;
  /** URL of models/<id>/pack.json. */
  packUrl(id: string): string;
  /** Parsed models/index.json; rejects when it does not exist. */
  fetchPackIndex(): Promise<unknown>;
  prepareFromBlob(blob: Blob, imageSize: number, name: string): Promise<PreparedSource>;
  prepareFromUrl(url: string, imageSize: number, name: string): Promise<PreparedSource>;
  prepareFromPng(png: Uint8Array, imageSize: number): Promise<PreparedSource>;
  /** A fresh uint32 seed. */
  randomSeed(): number;
  /** Runs `task` soon, coalescing bursts of setting changes into one request. */
  schedule(task: () => void): void;
  /** The image shown when nothing else was given (a project-made sample). */
  defaultSampleUrl: string | null;
  /** Where packs opened from files are kept between visits; absent or null: they last for the visit only. */
  openKeptPacks?(): Promise<KeptPackStore | null>;
  /** Asks the browser to keep the site's storage (called when a pack is first kept). */
  askPersistentStorage?(): Promise<void>;
}

export type NoticeKind = 'input' | 'link' | 'pack' | 'engine' | 'backend';
export interface Notice {
  id: number;
  kind: NoticeKind;
  message: string;
}

export interface PackStatus {
  phase: 'idle' | 'loading' | 'ready' | 'error';
  /** The pack being loaded or loaded. */
  packId: string | null;
  stage: LoadProgress['stage'] | null;
  loaded: number;
  total: number;
  message: string;
  /** Set once loaded: every shard came from the pack cache. */
  fromCache?: boolean;
}

export interface BackendStatus {
  requested: BackendRequest;
  active: BackendName | null;
  detail: string;
}

export interface Prediction {
  classIndex: number;
  confidence: number;
  probabilities: number[];
}

export interface GridResult {
  key: string;
  levels: number[];
  samples: number;
  rows: Partial<Record<number, RgbaImage[]>>;
  status: 'running' | 'done' | 'error' | 'stopped';
  ms: number | null;
}

export interface LagView {
  key: string;
  candidates: number;
  status: 'running' | 'done' | 'error' | 'stopped';
  result: TimedLagResult | null;
}

export interface PlaygroundState
  extends
    Settings,
    SettingsActions,
    SourceState,
    SourceActions,
    PackState,
    PackActions,
    RunsState,
    RunsActions,
    InterpolationState,
    InterpolationActions {
  errors: Notice[];
  warnings: Notice[];
  reportError(kind: NoticeKind, message: string): void;
  reportWarning(kind: NoticeKind, message: string): void;
  dismissNotice(id: number): void;
}

export type PlaygroundStore = StoreApi<PlaygroundState>;

const MAX_NOTICES = 6;

/** Everything the permalink carries. */
export function toPermalinkState(state: PlaygroundState): PermalinkState {
  return {
    ...linkFieldsOf(state),
    packId: state.pack?.id ?? state.packStatus.packId ?? DEFAULT_PERMALINK_STATE.packId,
    packDigest: state.pack?.digest ?? '',
    mask: state.mask,
    imagePng: state.source?.png ?? null,
  };
}

export function createPlaygroundStore(env: PlaygroundEnv): PlaygroundStore {
  let runInterpolation = () => {};
  const store = createStore<PlaygroundState>()((set, get) => {
    let noticeId = 1;
    const notices: Notices = {
      push(list, kind, message) {
        const current = get()[list];
        if (current.some((n) => n.message === message)) return;
        set({ [list]: [...current, { id: noticeId++, kind, message }].slice(-MAX_NOTICES) });
      },
      clear: (kind) =>
        set({
          errors: get().errors.filter((n) => n.kind !== kind),
          warnings: get().warnings.filter((n) => n.kind !== kind),
        }),
    };
    // The slices reach each other's internals through the context; they are filled in below, before any is called.
    const ctx = { set, get, env, notices, versions: { source: 0, mask: 0 } } as SliceContext;
    const runs = createRunsSlice(ctx);
    ctx.runs = runs.internals;
    const source = createSourceSlice(ctx);
    ctx.source = source.internals;
    const interpolation = createInterpolationSlice(ctx);
    runInterpolation = interpolation.run;
    return {
      ...createSettingsSlice(ctx),
      ...source.state,
      ...createPackSlice(ctx),
      ...runs.state,
      ...interpolation.state,
      errors: [],
      warnings: [],
      reportError: (kind, message) => notices.push('errors', kind, message),
      reportWarning: (kind, message) => notices.push('warnings', kind, message),
      dismissNotice: (id) =>
        set({ errors: get().errors.filter((n) => n.id !== id), warnings: get().warnings.filter((n) => n.id !== id) }),
    };
  });
  // Interpolation frames follow every change of what they depend on (settings, image, features, pack).
  store.subscribe(() => runInterpolation());
  return store;
}
