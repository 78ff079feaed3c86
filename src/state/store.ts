// The one zustand store of the playground: pack, backend, source image, settings, results and notices.
// It is framework-free (zustand/vanilla) and talks to the outside world only through PlaygroundEnv, so the whole
// logic runs in Node tests with a fake engine. React reads it with useStore (see src/ui/storeContext.tsx).

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BackendName, BackendRequest, PackSummary, RgbaImage } from '../engine/protocol';
import {
  DEFAULT_PERMALINK_STATE,
  MAX_LAG_CANDIDATES,
  MAX_SAMPLES,
  checkPermalinkAgainstPack,
  digestPrefix,
  type Mode,
  type PermalinkState,
} from '../share/permalink';
import { isSupersededFailure, type EngineApi, type EngineEvent, type LagResult, type LoadProgress } from './engineClient';
import { LEVEL_COUNT } from '../engine/levels';
import { packCandidates, parsePackIndex, type PackIndex } from './packIndex';

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
  status: 'running' | 'done' | 'error';
  ms: number | null;
}

export interface LagView {
  key: string;
  candidates: number;
  status: 'running' | 'done' | 'error';
  result: LagResult | null;
}

export interface Settings {
  mode: Mode;
  level: number;
  seed: number;
  samples: number;
  /** null: use the classifier's prediction. */
  classOverride: number | null;
  compare: boolean;
  /** imageSize^2 values in {0, 1}: 1 keeps the source's features; null means "everywhere". */
  mask: Float32Array | null;
  lagAmplitude: number;
  lagCandidates: number;
}

export interface PlaygroundState extends Settings {
  packIndex: PackIndex | null;
  packStatus: PackStatus;
  pack: PackSummary | null;
  backend: BackendStatus;
  source: PreparedSource | null;
  sourceStatus: 'empty' | 'preparing' | 'extracting' | 'ready' | 'error';
  featuresId: string | null;
  prediction: Prediction | null;
  grid: GridResult | null;
  lag: LagView | null;
  errors: Notice[];
  warnings: Notice[];
  /** False until the startup (or a link) has been fully applied: the URL must not be rewritten before. */
  shareReady: boolean;

  startup(options: { backend: BackendRequest; link: PermalinkState | null }): Promise<void>;
  applyLink(link: PermalinkState): Promise<void>;
  loadPack(id: string): Promise<void>;
  /** `notes`: warnings about how the image was chosen (e.g. several files dropped), shown once it opens. */
  openImageBlob(blob: Blob, name: string, notes?: string[]): Promise<void>;
  openSampleUrl(url: string, name: string): Promise<void>;
  setMode(mode: Mode): void;
  setLevel(level: number): void;
  setSeed(seed: number): void;
  rerollSeed(): void;
  setSamples(samples: number): void;
  setClassOverride(classIndex: number | null): void;
  setCompare(compare: boolean): void;
  toggleCompare(): void;
  setMask(mask: Float32Array | null): void;
  setLagAmplitude(amplitude: number): void;
  setLagCandidates(candidates: number): void;
  reportError(kind: NoticeKind, message: string): void;
  reportWarning(kind: NoticeKind, message: string): void;
  dismissNotice(id: number): void;
}

export type PlaygroundStore = StoreApi<PlaygroundState>;

const MAX_NOTICES = 6;
/** Key of a result whose settings changed and whose replacement has not been requested yet. */
const STALE = 'stale';
const MAX_UINT32 = 0xffffffff;

function clampInt(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(max, Math.max(min, Math.round(value)));
}

export function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** A pack failure that names the file at fault (the engine gives it as `file` when its message does not). */
function describePackFailure(error: unknown): string {
  const message = describe(error);
  const file = typeof error === 'object' && error !== null && 'file' in error ? (error as { file?: unknown }).file : undefined;
  return typeof file === 'string' && file && !message.includes(file) ? `${message} (in ${file})` : message;
}

/** The levels a Semantic Pyramid request covers: the chosen one, or all seven when comparing. */
export function requestedLevels(state: Pick<Settings, 'compare' | 'level'>): number[] {
  return state.compare ? Array.from({ length: LEVEL_COUNT }, (_, i) => i) : [state.level];
}

/** The class the generator is conditioned on. */
export function effectiveClass(state: Pick<PlaygroundState, 'classOverride' | 'prediction'>): number | null {
  return state.classOverride ?? state.prediction?.classIndex ?? null;
}

/** Everything the permalink carries. */
export function toPermalinkState(state: PlaygroundState): PermalinkState {
  return {
    packId: state.pack?.id ?? state.packStatus.packId ?? DEFAULT_PERMALINK_STATE.packId,
    packDigest: state.pack ? digestPrefix(state.pack.digest) : '',
    mode: state.mode,
    level: state.level,
    compare: state.compare,
    seed: state.seed,
    samples: state.samples,
    classIndex: state.classOverride,
    lagAmplitude: state.lagAmplitude,
    lagCandidates: state.lagCandidates,
    mask: state.mask,
    imagePng: state.source?.png ?? null,
  };
}

export function createPlaygroundStore(env: PlaygroundEnv): PlaygroundStore {
  let noticeId = 1;
  /** Incremented for every new source image / mask / pack load, so late answers for old ones are ignored. */
  let sourceVersion = 0;
  let maskVersion = 0;
  let packLoadToken = 0;
  let pendingBlob: { blob: Blob; name: string; notes: string[] } | null = null;
  let pendingLink: PermalinkState | null = null;

  const store = createStore<PlaygroundState>()((set, get) => {
    const pushNotice = (list: 'errors' | 'warnings', kind: NoticeKind, message: string) => {
      const current = get()[list];
      if (current.some((n) => n.message === message)) return;
      set({ [list]: [...current, { id: noticeId++, kind, message }].slice(-MAX_NOTICES) } as Partial<PlaygroundState>);
    };
    const clearNotices = (kind: NoticeKind) =>
      set({ errors: get().errors.filter((n) => n.kind !== kind), warnings: get().warnings.filter((n) => n.kind !== kind) });

    const updateSettings = (patch: Partial<Settings>) => {
      set(patch);
      dropStaleResults();
      env.schedule(() => run(false));
    };

    /**
     * Results made with other settings leave the screen in the same update as the settings change (the request for
     * the new ones starts a moment later, when a burst of changes has settled): a grid is never shown under a level,
     * seed or count it was not made with. Its rows are replaced by pending cells until the new request answers.
     */
    const dropStaleResults = () => {
      const s = get();
      if (s.grid && s.grid.key !== STALE) {
        const classIndex = effectiveClass(s);
        const key = s.featuresId && classIndex !== null ? spKey(s, classIndex) : null;
        if (key !== s.grid.key) set({ grid: { key: STALE, levels: requestedLevels(s), samples: s.samples, rows: {}, status: 'running', ms: null } });
      }
      if (s.lag && s.lag.key !== STALE && s.lag.key !== lagKey(s)) set({ lag: { key: STALE, candidates: s.lagCandidates, status: 'running', result: null } });
    };

    // ---- running the generators ------------------------------------------------------------------------------

    const spKey = (s: PlaygroundState, classIndex: number) =>
      ['sp', s.featuresId, requestedLevels(s).join(','), s.samples, s.seed, classIndex, maskVersion].join('|');
    const lagKey = (s: PlaygroundState) => ['lag', sourceVersion, s.lagCandidates, s.seed, s.lagAmplitude].join('|');

    /** Starts the request the current settings call for, unless its result is already shown or on its way. */
    const run = (force: boolean) => {
      const s = get();
      if (s.packStatus.phase !== 'ready' || !s.pack || !s.source) return;
      if (s.mode === 'sp') runSemanticPyramid(s, force);
      else runLag(s, force);
    };

    const runSemanticPyramid = (s: PlaygroundState, force: boolean) => {
      const classIndex = effectiveClass(s);
      if (!s.featuresId || classIndex === null) return;
      const key = spKey(s, classIndex);
      if (!force && s.grid?.key === key && s.grid.status !== 'error') return;
      const levels = requestedLevels(s);
      // The previous grid is dropped at once: rows are never shown under settings they were not made with.
      set({ grid: { key, levels, samples: s.samples, rows: {}, status: 'running', ms: null } });
      const isCurrent = () => get().grid?.key === key;
      env.engine
        .generate(
          { featuresId: s.featuresId, levels, samples: s.samples, seed: s.seed, classIndex, ...(s.mask ? { mask: s.mask } : {}) },
          (level, images) => {
            const grid = get().grid;
            if (grid && isCurrent()) set({ grid: { ...grid, rows: { ...grid.rows, [level]: images } } });
          },
        )
        .then(
          ({ ms }) => {
            const grid = get().grid;
            if (grid && isCurrent()) set({ grid: { ...grid, status: 'done', ms } });
          },
          (error) => {
            if (isSupersededFailure(error) || !isCurrent()) return;
            const grid = get().grid;
            if (grid) set({ grid: { ...grid, status: 'error' } });
            pushNotice('errors', 'engine', `Generation failed: ${describe(error)}`);
          },
        );
    };

    const runLag = (s: PlaygroundState, force: boolean) => {
      const key = lagKey(s);
      if (!force && s.lag?.key === key && s.lag.status !== 'error') return;
      set({ lag: { key, candidates: s.lagCandidates, status: 'running', result: null } });
      const isCurrent = () => get().lag?.key === key;
      env.engine.lag({ image: s.source!.image, candidates: s.lagCandidates, seed: s.seed, amplitude: s.lagAmplitude }).then(
        (result) => {
          if (isCurrent()) set({ lag: { key, candidates: s.lagCandidates, status: 'done', result } });
        },
        (error) => {
          if (isSupersededFailure(error) || !isCurrent()) return;
          set({ lag: { key, candidates: s.lagCandidates, status: 'error', result: null } });
          pushNotice('errors', 'engine', `LAG failed: ${describe(error)}`);
        },
      );
    };

    // ---- source image ------------------------------------------------------------------------------------------

    const useSource = async (prepared: PreparedSource, mask: Float32Array | null = null) => {
      const version = ++sourceVersion;
      maskVersion++;
      set({ source: prepared, sourceStatus: 'extracting', featuresId: null, prediction: null, grid: null, lag: null, mask });
      // LAG needs only the pixels, so it can start before the pyramid is ready.
      run(false);
      try {
        const { featuresId, probabilities } = await env.engine.extract(prepared.image);
        if (version !== sourceVersion) return;
        const classIndex = argmax(probabilities);
        set({ featuresId, sourceStatus: 'ready', prediction: { classIndex, confidence: probabilities[classIndex] ?? 0, probabilities } });
        run(false);
      } catch (error) {
        if (version !== sourceVersion || isSupersededFailure(error)) return;
        set({ sourceStatus: 'error' });
        pushNotice('errors', 'engine', `Could not analyse the image: ${describe(error)}`);
      }
    };

    const withNotes =
      (make: (imageSize: number) => Promise<PreparedSource>, notes: string[]) =>
      async (imageSize: number): Promise<PreparedSource> => {
        const prepared = await make(imageSize);
        return notes.length ? { ...prepared, notes: [...notes, ...(prepared.notes ?? [])] } : prepared;
      };

    const prepare = async (make: (imageSize: number) => Promise<PreparedSource>, failureIntro: string) => {
      const pack = get().pack;
      if (!pack) return;
      const version = ++sourceVersion;
      set({ sourceStatus: 'preparing' });
      try {
        const prepared = await make(pack.imageSize);
        if (version !== sourceVersion) return;
        clearNotices('input');
        for (const note of prepared.notes ?? []) pushNotice('warnings', 'input', note);
        await useSource(prepared);
      } catch (error) {
        if (version !== sourceVersion) return;
        set({ sourceStatus: get().source ? 'ready' : 'empty' });
        pushNotice('errors', 'input', `${failureIntro}: ${describe(error)}`);
      }
    };

    // ---- links ---------------------------------------------------------------------------------------------------

    const linkSettings = (link: PermalinkState): Partial<Settings> => ({
      mode: link.mode,
      level: link.level,
      seed: link.seed,
      samples: link.samples,
      classOverride: link.classIndex,
      compare: link.compare,
      lagAmplitude: link.lagAmplitude,
      lagCandidates: link.lagCandidates,
    });

    /** Uses the link's image (or the current / default one) once the pack is known. */
    const settleLink = async (link: PermalinkState, pack: PackSummary) => {
      const check = checkPermalinkAgainstPack(link, { id: pack.id, digest: pack.digest, imageSize: pack.imageSize, classCount: pack.classNames.length });
      for (const warning of check.warnings) pushNotice('warnings', 'link', warning);
      for (const error of check.errors) pushNotice('errors', 'link', error.message);
      if (check.errors.some((e) => e.field === 'class')) set({ classOverride: null });
      const imageUsable = link.imagePng && !check.errors.some((e) => e.field === 'img');
      if (imageUsable) {
        try {
          const prepared = await env.prepareFromPng(link.imagePng!, pack.imageSize);
          const mask = link.mask && link.mask.length === pack.imageSize ** 2 ? link.mask : null;
          await useSource(prepared, mask);
        } catch (error) {
          pushNotice('errors', 'link', `This link's image could not be decoded: ${describe(error)}`);
          await useDefaultSource();
        }
      } else if (!get().source) {
        await useDefaultSource();
      } else {
        run(false);
      }
    };

    const useDefaultSource = async () => {
      const url = env.defaultSampleUrl;
      if (!url || get().source) return;
      await prepare((size) => env.prepareFromUrl(url, size, 'sample'), 'The sample image could not be loaded');
    };

    // ---- packs ---------------------------------------------------------------------------------------------------

    const onPackLoaded = async (pack: PackSummary) => {
      const s = get();
      const previous = s.pack;
      const samePixels = previous?.imageSize === pack.imageSize;
      set({
        pack,
        packStatus: { phase: 'ready', packId: pack.id, stage: null, loaded: pack.bytes, total: pack.bytes, message: '' },
        classOverride: s.classOverride !== null && s.classOverride < pack.classNames.length ? s.classOverride : null,
        featuresId: null,
        prediction: null,
        grid: null,
        lag: null,
        mask: samePixels ? s.mask : null,
      });
      if (pendingBlob) {
        const { blob, name, notes } = pendingBlob;
        pendingBlob = null;
        await prepare(withNotes((size) => env.prepareFromBlob(blob, size, name), notes), `Could not open "${name}"`);
      } else if (pendingLink) {
        const link = pendingLink;
        pendingLink = null;
        await settleLink(link, pack);
      } else if (s.source && samePixels) {
        await useSource(s.source, get().mask);
      } else if (s.source?.originalUrl) {
        const { originalUrl, name } = s.source;
        await prepare((size) => env.prepareFromUrl(originalUrl, size, name), `Could not resize "${name}" for this pack`);
      } else {
        await useDefaultSource();
      }
      set({ shareReady: true });
    };

    /** Tries the packs in order until one loads; a missing pack is skipped quietly, a broken one is reported. */
    const loadFirstAvailable = async (ids: string[]) => {
      const token = ++packLoadToken;
      // Notes about earlier loads go; those about packs skipped on the way to this one stay visible.
      clearNotices('pack');
      const failures: string[] = [];
      const missing: string[] = [];
      for (const id of ids) {
        set({ packStatus: { phase: 'loading', packId: id, stage: 'manifest', loaded: 0, total: 0, message: '' } });
        try {
          const { pack } = await env.engine.loadPack(env.packUrl(id), (progress) => {
            if (token !== packLoadToken) return;
            set({ packStatus: { phase: 'loading', packId: id, stage: progress.stage, loaded: progress.loaded, total: progress.total, message: '' } });
          });
          if (token !== packLoadToken) return;
          await onPackLoaded(pack);
          // A pack the index lists but the server does not have is worth a note (a link's unknown pack has its own).
          for (const note of missing) pushNotice('warnings', 'pack', note);
          return;
        } catch (error) {
          if (token !== packLoadToken) return;
          const reason = describePackFailure(error);
          failures.push(`${id}: ${reason}`);
          if (errorCode(error) !== 'pack-not-found') pushNotice('errors', 'pack', `The model pack "${id}" is broken: ${reason}`);
          else if (get().packIndex?.packs.some((p) => p.id === id)) missing.push(`The model pack "${id}" could not be found (${reason}); another pack is used.`);
        }
      }
      const message = ids.length ? `No model pack could be loaded (${failures.join('; ')}).` : 'No model pack is configured.';
      set({ packStatus: { phase: 'error', packId: null, stage: null, loaded: 0, total: 0, message }, shareReady: true });
      pushNotice('errors', 'pack', message);
    };

    const onEngineEvent = (event: EngineEvent) => {
      switch (event.type) {
        case 'ready':
          set({ backend: { ...get().backend, active: event.backend, detail: event.reason && event.fellBackFrom ? `${event.detail} (not ${event.fellBackFrom}: ${event.reason})` : event.detail } });
          // Automatic choice falling back is expected; a forced backend that could not start is worth a note.
          if (event.fellBackFrom && get().backend.requested !== 'auto') {
            pushNotice('warnings', 'backend', `${event.fellBackFrom} is not available here${event.reason ? ` (${event.reason})` : ''}; running on ${event.backend}.`);
          }
          return;
        case 'backendChanged':
          set({ backend: { ...get().backend, active: event.backend, detail: event.reason } });
          pushNotice('warnings', 'backend', `Switched to ${event.backend}: ${event.reason}`);
          return;
        case 'error':
          if (event.code === 'device-lost') pushNotice('errors', 'backend', `The GPU was lost: ${event.message}`);
          else pushNotice('errors', 'engine', event.message);
          return;
        case 'restarting':
          pushNotice('warnings', 'engine', `The engine crashed (${event.reason}) and is restarting.`);
          return;
        case 'restarted':
          run(true);
          return;
        case 'gaveUp':
          pushNotice('errors', 'engine', `The engine keeps crashing (${event.reason}). Reload the page, or try another backend.`);
          return;
      }
    };

    return {
      mode: DEFAULT_PERMALINK_STATE.mode,
      level: DEFAULT_PERMALINK_STATE.level,
      seed: DEFAULT_PERMALINK_STATE.seed,
      samples: DEFAULT_PERMALINK_STATE.samples,
      classOverride: null,
      compare: DEFAULT_PERMALINK_STATE.compare,
      mask: null,
      lagAmplitude: DEFAULT_PERMALINK_STATE.lagAmplitude,
      lagCandidates: DEFAULT_PERMALINK_STATE.lagCandidates,
      packIndex: null,
      packStatus: { phase: 'idle', packId: null, stage: null, loaded: 0, total: 0, message: '' },
      pack: null,
      backend: { requested: 'auto', active: null, detail: '' },
      source: null,
      sourceStatus: 'empty',
      featuresId: null,
      prediction: null,
      grid: null,
      lag: null,
      errors: [],
      warnings: [],
      shareReady: false,

      async startup({ backend, link }) {
        set({ backend: { requested: backend, active: null, detail: '' } });
        env.engine.subscribe(onEngineEvent);
        env.engine.start(backend);
        let index: PackIndex | null = null;
        try {
          index = parsePackIndex(await env.fetchPackIndex());
        } catch {
          index = null; // no index yet: the fallback ids are tried
        }
        set({ packIndex: index });
        if (link) {
          set(linkSettings(link));
          pendingLink = link;
        }
        await loadFirstAvailable(packCandidates(link?.packId ?? null, index));
      },

      async applyLink(link) {
        clearNotices('link');
        set(linkSettings(link));
        const pack = get().pack;
        if (pack && link.packId !== pack.id && get().packIndex?.packs.some((p) => p.id === link.packId)) {
          pendingLink = link;
          await loadFirstAvailable(packCandidates(link.packId, get().packIndex));
        } else if (pack) {
          await settleLink(link, pack);
        } else {
          pendingLink = link;
        }
      },

      async loadPack(id) {
        if (get().pack?.id === id && get().packStatus.phase === 'ready') return;
        await loadFirstAvailable([id]);
      },

      async openImageBlob(blob, name, notes = []) {
        if (!get().pack) {
          // Kept until the pack (and so the model's image size) is known.
          pendingBlob = { blob, name, notes };
          pushNotice('warnings', 'input', `"${name}" will open as soon as the model pack has loaded.`);
          return;
        }
        for (const note of notes) pushNotice('warnings', 'input', note);
        await prepare(withNotes((size) => env.prepareFromBlob(blob, size, name), notes), `Could not open "${name}"`);
      },

      async openSampleUrl(url, name) {
        await prepare((size) => env.prepareFromUrl(url, size, name), `Could not open the sample "${name}"`);
      },

      setMode: (mode) => updateSettings({ mode }),
      setLevel: (level) => updateSettings({ level: clampInt(level, 0, LEVEL_COUNT - 1) }),
      setSeed: (seed) => updateSettings({ seed: clampInt(seed, 0, MAX_UINT32) }),
      rerollSeed: () => updateSettings({ seed: clampInt(env.randomSeed(), 0, MAX_UINT32) }),
      setSamples: (samples) => updateSettings({ samples: clampInt(samples, 1, MAX_SAMPLES) }),
      setClassOverride: (classIndex) => {
        const classCount = get().pack?.classNames.length ?? Infinity;
        updateSettings({ classOverride: classIndex === null || classIndex < 0 || classIndex >= classCount ? null : Math.round(classIndex) });
      },
      setCompare: (compare) => updateSettings({ compare }),
      toggleCompare: () => updateSettings({ compare: !get().compare }),
      setMask: (mask) => {
        const size = get().pack?.imageSize;
        if (mask && (!size || mask.length !== size * size)) {
          pushNotice('errors', 'input', 'The painted mask does not match the model size and was ignored.');
          return;
        }
        maskVersion++;
        updateSettings({ mask });
      },
      setLagAmplitude: (amplitude) => updateSettings({ lagAmplitude: Number.isFinite(amplitude) ? Math.min(1, Math.max(0, amplitude)) : 0 }),
      setLagCandidates: (candidates) => updateSettings({ lagCandidates: clampInt(candidates, 1, MAX_LAG_CANDIDATES) }),
      reportError: (kind, message) => pushNotice('errors', kind, message),
      reportWarning: (kind, message) => pushNotice('warnings', kind, message),
      dismissNotice: (id) => set({ errors: get().errors.filter((n) => n.id !== id), warnings: get().warnings.filter((n) => n.id !== id) }),
    };
  });
  return store;
}
