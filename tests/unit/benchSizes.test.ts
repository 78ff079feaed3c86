// The image-size part of the bench's report: each size's default configuration and the proposed narrower ones
// are told apart, and each 64 px configuration gets its own target row.
import { describe, expect, it } from 'vitest';
import { readmeLines, sizeEntries, sizeTargets, type SizeEntry } from '../../scripts/node/bench/rooflineReport.mjs';

const entry = (config: string, imageSize: number, proposal: boolean, medianMs: number, mflop: number): SizeEntry => ({
  config,
  proposal,
  imageSize,
  threads: 2,
  spArch: { channels: [256, 128] },
  flopsPerSample: { engine: mflop * 1e6, reference: 2 * mflop * 1e6 },
  measures: { compareGrid: { median: medianMs, runs: 5 } },
});

const results = {
  sizes: {
    cifar10: entry('cifar10', 32, false, 770, 417),
    px64: entry('px64', 64, false, 1140, 577),
    px64lite: entry('px64lite', 64, true, 690, 338),
    px128: entry('px128', 128, false, 4660, 2412),
  },
};

describe('the image-size report', () => {
  it("finds a size's default configuration apart from the proposals", () => {
    expect(sizeEntries(results, 64, false).map((s) => s.config)).toEqual(['px64']);
    expect(sizeEntries(results, 64, true).map((s) => s.config)).toEqual(['px64lite']);
    expect(sizeEntries(results, 32, true)).toEqual([]);
    expect(sizeEntries({ sizes: { error: 'failed' } as never }, 64, false)).toEqual([]);
    expect(sizeEntries({ sizes: null }, 64, false)).toEqual([]);
  });

  it('gives the default and each proposal at 64 px a target row of its own, judged on its median', () => {
    const rows = sizeTargets(results);
    expect(rows).toHaveLength(2);
    expect(rows[0].target).not.toMatch(/proposed/);
    expect(rows[0].value).toMatch(/^1\.14 s .*px64,/);
    expect(rows[0].met).toBe(false);
    expect(rows[1].target).toMatch(/proposed px64lite \(untrained\)/);
    expect(rows[1].met).toBe(true);
  });

  it('names the proposals in the README line', () => {
    const line = readmeLines(results).find((l) => l.startsWith('Compare grid'));
    expect(line).toMatch(
      /32 px 770(\.0)? ms, 64 px 1\.14 s, 64 px \(px64lite, proposed\) 690(\.0)? ms, 128 px 4\.66 s/,
    );
  });
});
