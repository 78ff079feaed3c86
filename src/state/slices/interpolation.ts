// The interpolation slice: the frames between the current sample (seed, class) and a second one (seedB, classB) at
// the chosen level, or between two LAG noise draws on the source. Like the grid, a view is keyed by everything it
// was made with; frames made with other settings leave the screen at once and a late answer for them is dropped.
import type { InterpolateRequest, RgbaImage } from '../../engine/protocol';
import { isSupersededFailure } from '../engineClient';
import type { PlaygroundState } from '../store';
import { describe, type SliceContext } from './context';
import { effectiveClass } from './runs';
import { withinBounds } from './settings';

export interface InterpolationView {
  key: string;
  frames: number;
  status: 'running' | 'done' | 'error';
  images: RgbaImage[] | null;
  ms: number | null;
}

export interface InterpolationState {
  interpolation: InterpolationView | null;
}

export interface InterpolationActions {
  setInterpolate(on: boolean): void;
  toggleInterpolate(): void;
  setSeedB(seed: number): void;
  setClassB(classIndex: number | null): void;
  setInterpFrames(frames: number): void;
}

/** The request the current state calls for, or null when it cannot run yet (no pack, image or features). */
export function interpolationRequest(s: PlaygroundState): InterpolateRequest | null {
  if (!s.interpolate || s.packStatus.phase !== 'ready' || !s.pack || !s.source) return null;
  const common = { frames: s.interpFrames, seedA: s.seed, seedB: s.seedB };
  if (s.mode === 'lag') return { model: 'lag', ...common, image: s.source.image, amplitude: s.lagAmplitude };
  const classA = effectiveClass(s);
  if (!s.featuresId || classA === null) return null;
  const classB = s.classB !== null && s.classB < s.pack.classNames.length ? s.classB : classA;
  return {
    model: 'sp',
    ...common,
    featuresId: s.featuresId,
    level: s.level,
    classA,
    classB,
    ...(s.mask ? { mask: s.mask } : {}),
  };
}

export function createInterpolationSlice(ctx: SliceContext): {
  state: InterpolationState & InterpolationActions;
  run(): void;
} {
  const { set, get, env, versions } = ctx;
  const update = (patch: Partial<PlaygroundState>) => ctx.runs.settingsChanged(patch);

  const keyOf = (request: InterpolateRequest): string => {
    const { frames, seedA, seedB } = request;
    const model =
      request.model === 'sp'
        ? [request.featuresId, request.level, request.classA, request.classB, versions.mask]
        : [versions.source, request.amplitude];
    return [request.model, frames, seedA, seedB, ...model].join('|');
  };

  /** Starts the frames the state calls for, unless they are shown or on their way; called on every state change. */
  const run = () => {
    const s = get();
    const request = interpolationRequest(s);
    if (!request) {
      if (s.interpolation && (!s.interpolate || s.interpolation.key !== 'waiting')) {
        set({
          interpolation: s.interpolate
            ? { key: 'waiting', frames: s.interpFrames, status: 'running', images: null, ms: null }
            : null,
        });
      }
      return;
    }
    const key = keyOf(request);
    if (s.interpolation?.key === key) return;
    set({ interpolation: { key, frames: request.frames, status: 'running', images: null, ms: null } });
    const current = () => {
      const view = get().interpolation;
      return view?.key === key ? view : null;
    };
    env.engine.interpolate(request).then(
      ({ frames, ms }) => {
        const view = current();
        if (view) set({ interpolation: { ...view, status: 'done', images: frames, ms } });
      },
      (error) => {
        const view = current();
        if (isSupersededFailure(error) || !view) return;
        set({ interpolation: { ...view, status: 'error' } });
        ctx.notices.push('errors', 'engine', `Interpolation failed: ${describe(error)}`);
      },
    );
  };

  return {
    run,
    state: {
      interpolation: null,
      setInterpolate: (interpolate) => update({ interpolate }),
      toggleInterpolate: () => update({ interpolate: !get().interpolate }),
      setSeedB: (seed) => update({ seedB: withinBounds('seedB', seed) }),
      setClassB: (classIndex) => {
        const classCount = get().pack?.classNames.length ?? Infinity;
        const usable = classIndex !== null && Number.isFinite(classIndex) && classIndex >= 0 && classIndex < classCount;
        update({ classB: usable ? Math.round(classIndex) : null });
      },
      setInterpFrames: (frames) => update({ interpFrames: withinBounds('interpFrames', frames) }),
    },
  };
}
