// The runs slice: the Semantic Pyramid grid and the LAG candidates the current settings call for. A result is keyed
// by everything it was made with; one made with other settings leaves the screen in the same update as the change,
// and a late answer whose key is not the current one is dropped. Superseding the request itself is the engine
// client's job (src/state/engineClient.ts).
import { LEVEL_COUNT } from '../../engine/levels';
import { EngineError } from '../../engine/errors';
import { isSupersededFailure } from '../engineClient';
import type { GridResult, LagView, PlaygroundState } from '../store';
import { describe, type RunsInternals, type SliceContext } from './context';
import type { Settings } from './settings';

export interface RunsState {
  grid: GridResult | null;
  lag: LagView | null;
}

export interface RunsActions {
  /** Stops what is running (a pack load, a grid or a LAG request). Rows already finished stay; none is half drawn. */
  stop(): void;
  /** Runs the current settings again (after a stop or a failure). */
  runAgain(): void;
}

/** A request stopped on purpose (the Stop button), as opposed to superseded by a client restart. */
export function isStoppedFailure(error: unknown): boolean {
  return error instanceof EngineError && error.code === 'cancelled';
}

/** True while something a person can stop is running. */
export function isStoppable(s: Pick<PlaygroundState, 'packStatus' | 'mode' | 'grid' | 'lag'>): boolean {
  if (s.packStatus.phase === 'loading') return true;
  return s.mode === 'sp' ? s.grid?.status === 'running' : s.lag?.status === 'running';
}

/** Key of a result whose settings changed and whose replacement has not been requested yet. */
const STALE = 'stale';

/** The levels a Semantic Pyramid request covers: the chosen one, or all of them when comparing. */
export function requestedLevels(state: Pick<Settings, 'compare' | 'level'>): number[] {
  return state.compare ? Array.from({ length: LEVEL_COUNT }, (_, i) => i) : [state.level];
}

/** The class the generator is conditioned on. */
export function effectiveClass(state: Pick<PlaygroundState, 'classOverride' | 'prediction'>): number | null {
  return state.classOverride ?? state.prediction?.classIndex ?? null;
}

export function createRunsSlice(ctx: SliceContext): { state: RunsState & RunsActions; internals: RunsInternals } {
  const { set, get, env, versions } = ctx;
  const spKey = (s: PlaygroundState, classIndex: number) =>
    ['sp', s.featuresId, requestedLevels(s).join(','), s.samples, s.seed, classIndex, versions.mask].join('|');
  const lagKey = (s: PlaygroundState) => ['lag', versions.source, s.lagCandidates, s.seed, s.lagAmplitude].join('|');

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
      if (key !== s.grid.key)
        set({
          grid: { key: STALE, levels: requestedLevels(s), samples: s.samples, rows: {}, status: 'running', ms: null },
        });
    }
    if (s.lag && s.lag.key !== STALE && s.lag.key !== lagKey(s))
      set({ lag: { key: STALE, candidates: s.lagCandidates, status: 'running', result: null } });
  };

  const runSemanticPyramid = (s: PlaygroundState, force: boolean) => {
    const classIndex = effectiveClass(s);
    if (!s.featuresId || classIndex === null) return;
    const key = spKey(s, classIndex);
    if (!force && s.grid?.key === key && s.grid.status !== 'error') return;
    const levels = requestedLevels(s);
    set({ grid: { key, levels, samples: s.samples, rows: {}, status: 'running', ms: null } });
    const current = () => {
      const grid = get().grid;
      return grid?.key === key ? grid : null;
    };
    const request = {
      featuresId: s.featuresId,
      levels,
      samples: s.samples,
      seed: s.seed,
      classIndex,
      ...(s.mask ? { mask: s.mask } : {}),
    };
    env.engine
      .generate(request, (level, images) => {
        const grid = current();
        if (grid) set({ grid: { ...grid, rows: { ...grid.rows, [level]: images } } });
      })
      .then(
        ({ ms }) => {
          const grid = current();
          if (grid) set({ grid: { ...grid, status: 'done', ms } });
        },
        (error) => {
          const grid = current();
          if (isSupersededFailure(error) || !grid) return;
          set({ grid: { ...grid, status: 'error' } });
          ctx.notices.push('errors', 'engine', `Generation failed: ${describe(error)}`);
        },
      );
  };

  const runLag = (s: PlaygroundState, force: boolean) => {
    const key = lagKey(s);
    if (!force && s.lag?.key === key && s.lag.status !== 'error') return;
    set({ lag: { key, candidates: s.lagCandidates, status: 'running', result: null } });
    const isCurrent = () => get().lag?.key === key;
    env.engine
      .lag({ image: s.source!.image, candidates: s.lagCandidates, seed: s.seed, amplitude: s.lagAmplitude })
      .then(
        (result) => {
          if (isCurrent()) set({ lag: { key, candidates: s.lagCandidates, status: 'done', result } });
        },
        (error) => {
          if (isSupersededFailure(error) || !isCurrent()) return;
          set({ lag: { key, candidates: s.lagCandidates, status: 'error', result: null } });
          ctx.notices.push('errors', 'engine', `LAG failed: ${describe(error)}`);
        },
      );
  };

  const run = (force: boolean) => {
    const s = get();
    if (s.packStatus.phase !== 'ready' || !s.pack || !s.source) return;
    if (s.mode === 'sp') runSemanticPyramid(s, force);
    else runLag(s, force);
  };

  const stop = () => {
    const s = get();
    if (s.packStatus.phase === 'loading') env.engine.cancel('loadPack');
    if (s.grid?.status === 'running') {
      env.engine.cancel('generate');
      // Rows arrive whole, so the finished ones are complete; the unfinished ones leave the grid.
      const levels = s.grid.levels.filter((level) => s.grid!.rows[level]);
      set({ grid: { ...s.grid, levels, status: 'stopped' } });
    }
    if (s.lag?.status === 'running') {
      env.engine.cancel('lag');
      set({ lag: { ...s.lag, status: 'stopped' } });
    }
  };

  return {
    state: { grid: null, lag: null, stop, runAgain: () => run(true) },
    internals: {
      run,
      settingsChanged: (patch) => {
        set(patch);
        dropStaleResults();
        env.schedule(() => run(false));
      },
    },
  };
}
