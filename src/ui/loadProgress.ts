// One progress figure for a whole pack load. Each stage owns a fixed slice of the bar, in the order the engine runs
// them, so the bar fills once from left to right; a stage's own counter (bytes, shards, steps) only moves inside
// its slice. nextLoadView also refuses to go back, since a stage can restart its counter (a shard re-read).
import type { LoadStage } from '../engine/protocol';
import type { PackStatus } from '../state/store';

export const LOAD_STAGES: readonly LoadStage[] = ['manifest', 'download', 'verify', 'decode', 'upload', 'warmup'];

/** The words a person sees (and a screen reader hears) for each stage. */
export const STAGE_LABELS: Record<LoadStage, string> = {
  manifest: 'reading pack.json',
  download: 'download',
  verify: 'verify',
  decode: 'decode',
  upload: 'upload',
  warmup: 'warm-up',
};

/** Share of the bar per stage: the download is most of a first visit's wait. */
const STAGE_SHARES: Record<LoadStage, number> = {
  manifest: 0.02,
  download: 0.68,
  verify: 0.1,
  decode: 0.1,
  upload: 0.05,
  warmup: 0.05,
};

/** Where a stage's slice starts on the 0..1 bar. */
function stageStart(stage: LoadStage): number {
  let start = 0;
  for (const s of LOAD_STAGES) {
    if (s === stage) return start;
    start += STAGE_SHARES[s];
  }
  return start;
}

/** The whole load's fraction done (0..1) for a stage and its own counter. */
export function overallFraction(stage: LoadStage, loaded: number, total: number): number {
  const inStage = total > 0 ? Math.min(1, Math.max(0, loaded / total)) : 0;
  return Math.min(1, stageStart(stage) + STAGE_SHARES[stage] * inStage);
}

export interface LoadView {
  /** 0..1, never less than the previous answer of the same load. */
  fraction: number;
  /** Every shard is read from the pack cache: no shard came from the network to be verified. */
  fromCache: boolean;
}

/**
 * The bar after `status`, given the bar before it (null when no load was running): a load continues from its best
 * figure so far, and a new load (the previous answer null) starts again at 0. Null when nothing is loading.
 */
export function nextLoadView(
  previous: LoadView | null,
  status: Pick<PackStatus, 'phase' | 'stage' | 'loaded' | 'total'>,
): LoadView | null {
  if (status.phase !== 'loading' || !status.stage) return null;
  const fraction = Math.max(previous?.fraction ?? 0, overallFraction(status.stage, status.loaded, status.total));
  const fromCache = (previous?.fromCache ?? false) || (status.stage === 'verify' && status.total === 0);
  return { fraction, fromCache };
}
