// The pack-load bar: stages in order fill it once, it never moves back, and a load from the cache says so.
import { describe, expect, it } from 'vitest';
import { LOAD_STAGES, nextLoadView, overallFraction, type LoadView } from '../../src/ui/loadProgress';
import type { PackStatus } from '../../src/state/store';

/** Feeds statuses one after another, as the component does. */
class Bar {
  view: LoadView | null = null;
  update(status: PackStatus) {
    this.view = nextLoadView(this.view, status);
    return this.view;
  }
}
const READY: PackStatus = { phase: 'ready', packId: 'p', stage: null, loaded: 1, total: 1, message: '' };
const loading = (stage: PackStatus['stage'], loaded: number, total: number): PackStatus => ({
  phase: 'loading',
  packId: 'p',
  stage,
  loaded,
  total,
  message: '',
});

describe('load progress', () => {
  it('each stage starts where the previous one ends, from 0 to 1', () => {
    expect(overallFraction('manifest', 0, 1)).toBe(0);
    for (let i = 1; i < LOAD_STAGES.length; i++) {
      expect(overallFraction(LOAD_STAGES[i], 0, 10)).toBeCloseTo(overallFraction(LOAD_STAGES[i - 1], 10, 10), 10);
    }
    expect(overallFraction('warmup', 1, 1)).toBeCloseTo(1, 10);
    expect(overallFraction('download', 50, 100)).toBeGreaterThan(overallFraction('download', 10, 100));
  });

  it('never goes back within a load (a stage restarting its counter, a zero total), and restarts for a new load', () => {
    const bar = new Bar();
    const seen = [
      loading('manifest', 0, 1),
      loading('download', 0, 100),
      loading('download', 60, 100),
      loading('download', 30, 100),
      loading('verify', 0, 0),
      loading('decode', 0, 100),
      loading('decode', 100, 100),
      loading('upload', 1, 1),
      loading('warmup', 1, 1),
    ].map((status) => bar.update(status)!.fraction);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    expect(seen.at(-1)).toBeCloseTo(1, 10);
    expect(bar.update(READY)).toBeNull();
    expect(bar.update(loading('manifest', 0, 1))).toEqual({ fraction: 0, fromCache: false });
  });

  it('says "from cache" once the verify stage has nothing from the network to check', () => {
    const bar = new Bar();
    expect(bar.update(loading('download', 100, 100))!.fromCache).toBe(false);
    expect(bar.update(loading('verify', 0, 0))!.fromCache).toBe(true);
    expect(bar.update(loading('decode', 5, 10))!.fromCache).toBe(true);
    bar.update(READY);
    bar.update(loading('download', 0, 100));
    expect(bar.update(loading('verify', 0, 3))!.fromCache).toBe(false);
  });
});
