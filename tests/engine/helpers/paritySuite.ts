// The parity checks shared by the cpu and webgpu test files: every fixture directory under tests/fixtures/ is
// loaded through the real pack loader (over HTTP) and the engine's VGG features (all 7 levels), SP outputs and LAG
// outputs are compared with PyTorch's within a tolerance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyramidEngine } from '../../../src/engine/engine';
import type { BackendName } from '../../../src/engine/protocol';
import { findFixtureDirs, maxAbsDiff, readFixture, REPO_ROOT, samplePixels, takeRows, type Fixture } from './fixtures';
import { startStaticServer, type StaticServer } from './staticServer';

export interface ParityOptions {
  backend: BackendName;
  /** The tolerance to use given the fixture's own (max abs diff). */
  tolerance: (fixtureTolerance: number) => number;
  /** Called after the engine started, before any pack is loaded (e.g. to assert the backend really is in use). */
  checkEngine?: (engine: PyramidEngine) => void;
  /** Which SP/LAG cases of a fixture to run (default: all). Slow backends run a subset of the large packs. */
  selectCases?: (fixture: Fixture) => { sp: (name: string) => boolean; lag: (name: string) => boolean };
  /** Prints the measured max abs differences (to document the tolerance a backend needs). */
  report?: boolean;
}

export function defineParitySuite(options: ParityOptions): void {
  const dirs = findFixtureDirs();

  it('finds parity fixtures (tests/fixtures/*/fixtures.json), including the tiny packs at 32, 64 and 128 px', () => {
    // Without fixtures there is nothing to compare against: that is a failure, not a pass. tiny64 and tiny128 hold
    // the engine to packs of other image sizes (tests/fixtures/make_fixtures.py).
    expect(dirs.map((d) => d.split('/').pop())).toEqual(expect.arrayContaining(['tiny', 'tiny64', 'tiny128']));
  });

  for (const dir of dirs) {
    describe(`fixture ${dir.split('/').pop()}`, () => {
      const fixture: Fixture = readFixture(dir);
      const tolerance = options.tolerance(fixture.tolerance);
      const selected = options.selectCases?.(fixture) ?? { sp: () => true, lag: () => true };
      const note = (what: string, diff: number) => {
        if (!options.report) return;
        console.log(`[${options.backend}] ${fixture.name} ${what}: max abs diff ${diff.toExponential(2)}`);
      };
      let server: StaticServer;
      let engine: PyramidEngine;

      beforeAll(async () => {
        server = await startStaticServer(REPO_ROOT);
        engine = new PyramidEngine();
        const info = await engine.init(options.backend);
        expect(info.backend).toBe(options.backend);
        options.checkEngine?.(engine);
        const { summary } = await engine.loadPack({ packUrl: `${server.url}${fixture.packDir}/pack.json` });
        expect(summary.id).toBe(fixture.packId);
        expect(summary.digest).toBe(fixture.digest);
        // A cap, not a wait: loading warms every model up at the pack's size, which on SwiftShader (shaders on a
        // loaded CPU) can take minutes for the 128 px pack.
      }, 600_000);

      afterAll(async () => {
        engine?.dispose();
        await server?.close();
      });

      it(`VGG features match at all 7 levels within ${tolerance}`, async () => {
        const image = fixture.tensor('image');
        const levels = await engine.computeFeatures(image.values, image.shape[0]);
        const names = engine.packSummary!.levels.map((l) => l.name);
        expect(names).toEqual(['pool1', 'pool2', 'pool3', 'pool4', 'pool5', 'fc7', 'fc8']);
        const diffs = Object.fromEntries(
          names.map((name, i) => {
            const expected = fixture.tensor(`feature.${name}`);
            expect(levels[i].shape).toEqual(expected.shape);
            return [name, maxAbsDiff(levels[i].values, expected.values)];
          }),
        );
        for (const [name, diff] of Object.entries(diffs)) {
          note(`feature.${name}`, diff);
          expect(diff, `${name} max abs diff (all: ${JSON.stringify(diffs)})`).toBeLessThanOrEqual(tolerance);
        }
      });

      it('has SP and LAG cases', () => {
        expect(fixture.cases.sp.length).toBeGreaterThan(0);
        expect(fixture.cases.lag.length).toBeGreaterThan(0);
      });

      for (const spCase of fixture.cases.sp.filter((c) => selected.sp(c.name))) {
        it(`SP ${spCase.name} matches within ${tolerance}`, async () => {
          const z = fixture.tensor(spCase.z);
          const batch = z.shape[0];
          const images = fixture.tensor('image').shape[0];
          // Row r of a case uses image rows[r]; export.py builds larger cases by repeating the images in order.
          const rows = spCase.rows ?? Array.from({ length: batch }, (_, r) => r % images);
          const names = engine.packSummary!.levels.map((l) => l.name);
          const features = names.map((name) => takeRows(fixture.tensor(`feature.${name}`), rows));
          const on = fixture.tensor(spCase.on);
          const onRows = Array.from({ length: batch }, (_, r) => Array.from(on.values.subarray(r * 7, r * 7 + 7)));
          const out = await engine.runSp({
            z: z.values,
            classes: Array.from(fixture.tensor(spCase.y).values, (v) => Math.round(v)),
            on: onRows,
            mask: fixture.tensor(spCase.mask).values,
            features,
          });
          const imageSize = fixture.tensor('image').shape[1];
          expect(out.length).toBe(batch * imageSize * imageSize * 3);
          const pixels = spCase.pixels === undefined ? undefined : fixture.tensor(spCase.pixels);
          const diff = maxAbsDiff(samplePixels(out, pixels), fixture.tensor(spCase.out).values);
          note(`sp.${spCase.name}`, diff);
          expect(diff).toBeLessThanOrEqual(tolerance);
        });
      }

      for (const lagCase of fixture.cases.lag.filter((c) => selected.lag(c.name))) {
        it(`LAG ${lagCase.name} matches within ${tolerance}`, async () => {
          const lr = fixture.tensor(lagCase.lr);
          const out = await engine.runLag({
            lr: lr.values,
            noise: fixture.tensor(lagCase.noise).values,
            amplitude: lagCase.amplitude,
            batch: lr.shape[0],
          });
          const imageSize = fixture.tensor('image').shape[1];
          expect(out.length).toBe(lr.shape[0] * imageSize * imageSize * 3);
          const pixels = lagCase.pixels === undefined ? undefined : fixture.tensor(lagCase.pixels);
          const diff = maxAbsDiff(samplePixels(out, pixels), fixture.tensor(lagCase.out).values);
          note(`lag.${lagCase.name}`, diff);
          expect(diff).toBeLessThanOrEqual(tolerance);
        });
      }
    });
  }
}
