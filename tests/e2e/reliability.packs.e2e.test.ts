// Reliability, packs: a copy of the tiny test pack (tests/fixtures/tiny) served with one fault each, through a
// Playwright route on a fresh context (the engine worker's fetches go through it too). models/index.json lists
// the faulty "tiny" first and the real cifar10 pack second: the banner must name the file at fault, and the app
// must carry on with cifar10 and generate. A last case has no healthy pack at all.
import type { BrowserContext, Route } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { describePage, waitForGrid, waitForPackReady } from './helpers/app';
import { useBrowser } from './helpers/browserSession';
import {
  expectBanner,
  expectNoPageErrors,
  launchReliabilityBrowser,
  newRelContext,
} from './reliability-fixtures/harness';

const baseUrl = inject('baseUrl');
const TINY = join(import.meta.dirname, '../fixtures/tiny');
const session = useBrowser(launchReliabilityBrowser);

type Files = Map<string, { status: number; body: Buffer }>;

function tinyFiles(): Files {
  const files: Files = new Map();
  for (const name of ['pack.json', 'vgg.shard1of1.bin', 'sp.shard1of1.bin', 'lag.shard1of1.bin'])
    files.set(name, { status: 200, body: readFileSync(join(TINY, name)) });
  return files;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit pack.json as free JSON
function editManifest(files: Files, edit: (pack: Record<string, any>) => void): void {
  const pack = JSON.parse(files.get('pack.json')!.body.toString('utf8'));
  edit(pack);
  files.set('pack.json', { status: 200, body: Buffer.from(JSON.stringify(pack)) });
}

/** Serves models/index.json (tiny first, then the real packs) and models/tiny/* from `files`. */
async function routeFaultyTiny(context: BrowserContext, files: Files, alsoHealthy = true): Promise<string[]> {
  const served: string[] = [];
  const index = {
    default: 'tiny',
    packs: [
      { id: 'tiny', title: 'tiny (faulty copy)', preview: true },
      ...(alsoHealthy ? [{ id: 'cifar10', title: 'CIFAR-10', preview: false }] : []),
    ],
  };
  await context.route(/\/models\/index\.json(\?.*)?$/, (route: Route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(index) }),
  );
  await context.route(/\/models\/tiny\/[^/?]+(\?.*)?$/, (route: Route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop()!;
    served.push(name);
    const file = files.get(name);
    if (!file || file.status === 404)
      return route.fulfill({ status: 404, contentType: 'text/plain', body: `Not found: ${name}` });
    return route.fulfill({
      status: file.status,
      contentType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      body: file.body,
    });
  });
  return served;
}

/** Opens the app with a faulty tiny pack; expects the message and then cifar10 running. */
async function expectPackFault(files: Files, message: RegExp): Promise<string> {
  const rel = session.keep(await newRelContext(session.browser));
  const served = await routeFaultyTiny(rel.context, files);
  const app = await rel.open(baseUrl);
  try {
    const text = await expectBanner(app, message, 60_000);
    await waitForPackReady(app);
    await expect.poll(() => app.page.getByTestId('pack-status').textContent()).toMatch(/Pack ready: CIFAR-10/);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, timeout: 60_000 });
    expect(served, 'the faulty pack was really requested').toContain('pack.json');
    expectNoPageErrors(app);
    return text;
  } catch (error) {
    throw new Error(`${String(error).split('\n')[0]} — ${await describePage(app.page)}`);
  } finally {
    await rel.close();
  }
}

describe('reliability: packs', () => {
  it('a healthy copy of the tiny pack loads through the same route (control)', async ({ annotate }) => {
    const rel = session.keep(await newRelContext(session.browser));
    await routeFaultyTiny(rel.context, tinyFiles());
    const app = await rel.open(baseUrl);
    await waitForPackReady(app);
    await expect.poll(() => app.page.getByTestId('pack-status').textContent()).toMatch(/Pack ready: tiny/);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, timeout: 60_000 });
    expect(await app.page.getByTestId('error-banner').count()).toBe(0);
    await annotate('tiny pack ready, grid generated, no banner');
    await rel.close();
  });

  it('missing shard (404)', async ({ annotate }) => {
    const files = tinyFiles();
    files.set('sp.shard1of1.bin', { status: 404, body: Buffer.alloc(0) });
    await annotate(
      await expectPackFault(files, /The model pack "tiny" is broken: shard sp\.shard1of1\.bin answered HTTP 404/),
    );
  });

  it('truncated shard', async ({ annotate }) => {
    const files = tinyFiles();
    const whole = files.get('vgg.shard1of1.bin')!.body;
    files.set('vgg.shard1of1.bin', { status: 200, body: whole.subarray(0, 5000) });
    await annotate(await expectPackFault(files, /shard vgg\.shard1of1\.bin has 5000 bytes; pack\.json says 13964/));
  });

  it('sha256 mismatch', async ({ annotate }) => {
    const files = tinyFiles();
    const body = Buffer.from(files.get('lag.shard1of1.bin')!.body);
    body[100] ^= 0x55;
    files.set('lag.shard1of1.bin', { status: 200, body });
    await annotate(
      await expectPackFault(
        files,
        /shard lag\.shard1of1\.bin is corrupted: sha256 [0-9a-f]{64}, pack\.json says 3d506514/,
      ),
    );
  });

  it('unknown format version', async ({ annotate }) => {
    const files = tinyFiles();
    editManifest(files, (pack) => (pack.formatVersion = 99));
    await annotate(await expectPackFault(files, /pack\.json has formatVersion 99; this app reads version 1/));
  });

  it('manifest shapes that do not match the architecture', async ({ annotate }) => {
    const files = tinyFiles();
    editManifest(files, (pack) => {
      const weight = pack.models.vgg.weightsManifest[0].weights.find(
        (w: { name: string }) => w.name === 'vgg.conv1_1.kernel',
      );
      weight.shape = [3, 3, 4, 3]; // same size, wrong layout
    });
    await annotate(
      await expectPackFault(
        files,
        /weight vgg\.conv1_1\.kernel has shape .*3.*3.*4.*3.*; the vgg architecture needs .* \(in pack\.json\)/,
      ),
    );
  });

  it('pack.json is not JSON', async ({ annotate }) => {
    const files = tinyFiles();
    files.set('pack.json', { status: 200, body: Buffer.from('<html>oops</html>') });
    await annotate(await expectPackFault(files, /pack\.json is not valid JSON/));
  });

  it('404 on pack.json: a note naming it, the next pack runs', async ({ annotate }) => {
    const files = tinyFiles();
    files.set('pack.json', { status: 404, body: Buffer.alloc(0) });
    await annotate(
      await expectPackFault(
        files,
        /The model pack "tiny" could not be found \(http:\/\/[^ ]+\/models\/tiny\/pack\.json answered HTTP 404\); another pack is used/,
      ),
    );
  });

  it('no healthy pack at all: the message names the file; a reload once it is fixed works', async ({ annotate }) => {
    const rel = session.keep(await newRelContext(session.browser));
    const files = tinyFiles();
    files.set('sp.shard1of1.bin', { status: 404, body: Buffer.alloc(0) });
    await routeFaultyTiny(rel.context, files, false);
    const app = await rel.open(baseUrl);
    const text = await expectBanner(
      app,
      /No model pack could be loaded \(tiny: shard sp\.shard1of1\.bin answered HTTP 404\)/,
      60_000,
    );
    await expect.poll(() => app.page.getByTestId('pack-status').textContent()).toBe('No pack loaded');
    expect(await app.page.evaluate(() => document.body.innerText.includes('stopped working')), 'a pane crashed').toBe(
      false,
    );
    expectNoPageErrors(app);
    // The server is fixed; a reload brings the app back.
    files.set('sp.shard1of1.bin', { status: 200, body: readFileSync(join(TINY, 'sp.shard1of1.bin')) });
    await app.page.reload();
    await waitForPackReady(app);
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, timeout: 60_000 });
    await annotate(text);
    await rel.close();
  });
});
