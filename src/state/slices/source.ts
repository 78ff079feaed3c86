// The source slice: the input image (from a file, a sample, a link), its features in the engine and the
// classifier's prediction. A newer image wins: answers for an older one are dropped by version.
import type { PreparedSource, Prediction } from '../store';
import { isSupersededFailure } from '../engineClient';
import { describe, type SliceContext, type SourceInternals } from './context';

export interface SourceState {
  source: PreparedSource | null;
  sourceStatus: 'empty' | 'preparing' | 'extracting' | 'ready' | 'error';
  featuresId: string | null;
  prediction: Prediction | null;
}

export interface SourceActions {
  /** `notes`: warnings about how the image was chosen (e.g. several files dropped), shown once it opens. */
  openImageBlob(blob: Blob, name: string, notes?: string[]): Promise<void>;
  openSampleUrl(url: string, name: string): Promise<void>;
}

export function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Prepares with `make`, then puts `notes` ahead of the notes the preparation itself found. */
export const withNotes =
  (make: (imageSize: number) => Promise<PreparedSource>, notes: string[]) =>
  async (imageSize: number): Promise<PreparedSource> => {
    const prepared = await make(imageSize);
    return notes.length ? { ...prepared, notes: [...notes, ...(prepared.notes ?? [])] } : prepared;
  };

export function createSourceSlice(ctx: SliceContext): {
  state: SourceState & SourceActions;
  internals: SourceInternals;
} {
  const { set, get, env, versions, notices } = ctx;

  const adoptSource = async (prepared: PreparedSource, mask: Float32Array | null = null) => {
    const version = ++versions.source;
    versions.mask++;
    set({
      source: prepared,
      sourceStatus: 'extracting',
      featuresId: null,
      prediction: null,
      grid: null,
      lag: null,
      mask,
    });
    // LAG needs only the pixels, so it can start before the pyramid is ready.
    ctx.runs.run(false);
    try {
      const { featuresId, probabilities } = await env.engine.extract(prepared.image);
      if (version !== versions.source) return;
      const classIndex = argmax(probabilities);
      set({
        featuresId,
        sourceStatus: 'ready',
        prediction: { classIndex, confidence: probabilities[classIndex] ?? 0, probabilities },
      });
      ctx.runs.run(false);
    } catch (error) {
      if (version !== versions.source || isSupersededFailure(error)) return;
      set({ sourceStatus: 'error' });
      notices.push('errors', 'engine', `Could not analyse the image: ${describe(error)}`);
    }
  };

  const prepare = async (make: (imageSize: number) => Promise<PreparedSource>, failureIntro: string) => {
    const pack = get().pack;
    if (!pack) return;
    const version = ++versions.source;
    set({ sourceStatus: 'preparing' });
    try {
      const prepared = await make(pack.imageSize);
      if (version !== versions.source) return;
      notices.clear('input');
      for (const note of prepared.notes ?? []) notices.push('warnings', 'input', note);
      await adoptSource(prepared);
    } catch (error) {
      if (version !== versions.source) return;
      set({ sourceStatus: get().source ? 'ready' : 'empty' });
      notices.push('errors', 'input', `${failureIntro}: ${describe(error)}`);
    }
  };

  const internals: SourceInternals = {
    adoptSource,
    prepare,
    pendingBlob: null,
    async useDefaultSource() {
      const url = env.defaultSampleUrl;
      if (!url || get().source) return;
      await prepare((size) => env.prepareFromUrl(url, size, 'sample'), 'The sample image could not be loaded');
    },
  };

  return {
    internals,
    state: {
      source: null,
      sourceStatus: 'empty',
      featuresId: null,
      prediction: null,
      async openImageBlob(blob, name, notes = []) {
        if (!get().pack) {
          internals.pendingBlob = { blob, name, notes };
          notices.push('warnings', 'input', `"${name}" will open as soon as the model pack has loaded.`);
          return;
        }
        for (const note of notes) notices.push('warnings', 'input', note);
        await prepare(
          withNotes((size) => env.prepareFromBlob(blob, size, name), notes),
          `Could not open "${name}"`,
        );
      },
      async openSampleUrl(url, name) {
        await prepare((size) => env.prepareFromUrl(url, size, name), `Could not open the sample "${name}"`);
      },
    },
  };
}
