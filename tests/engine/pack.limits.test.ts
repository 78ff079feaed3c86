/* eslint-disable @typescript-eslint/no-explicit-any -- the cases edit parsed pack.json at any depth */
// The bounds of a pack: pack.json and shard bodies are read as streams and cut off at their cap (never buffered
// first), and pack.json's counts, sizes and architecture integers are bounded by docs/pack.schema.json, through the
// validator generated from it, with messages that name the field at fault.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors';
import { loadPack } from '../../src/engine/pack';
import { MAX_MANIFEST_BYTES, MAX_SHARD_BYTES } from '../../src/engine/packLimits';
import { validateManifest } from '../../src/engine/packManifest';
import { packSchemaProblem } from '../../src/engine/packSchema';
import { REPO_ROOT } from './helpers/fixtures';

const TINY = join(REPO_ROOT, 'tests/fixtures/tiny');
const tinyManifest = () => JSON.parse(readFileSync(join(TINY, 'pack.json'), 'utf8'));
const CHUNK = 64 * 1024;

/** A body that never ends, counting how many bytes the reader pulled out of it. */
function endlessBody(): { body: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += CHUNK;
      controller.enqueue(new Uint8Array(CHUNK).fill(32));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, pulled: () => pulled, cancelled: () => cancelled };
}

function serveFromDisk(url: string): Response {
  const file = new URL(url).pathname.slice(1);
  return new Response(readFileSync(join(TINY, file)));
}

async function loadError(run: Promise<unknown>): Promise<EngineError> {
  const error = await run.then(
    () => new Error('the load unexpectedly succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return error as EngineError;
}

function validationError(edit: (pack: Record<string, any>) => void): EngineError {
  const pack = tinyManifest();
  edit(pack);
  try {
    validateManifest(pack);
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    return error as EngineError;
  }
  throw new Error('the manifest was unexpectedly accepted');
}

describe('streams cut off at their cap', () => {
  it('an endless pack.json stops being read just past 1 MiB', async () => {
    const endless = endlessBody();
    const error = await loadError(
      loadPack({ packUrl: 'http://pack.test/pack.json', fetch: async () => new Response(endless.body) }),
    );
    expect(error).toMatchObject({ code: 'pack-format', file: 'pack.json' });
    expect(error.message).toMatch(/pack\.json is larger than 1 MiB.*not read further/);
    expect(endless.pulled()).toBeLessThanOrEqual(MAX_MANIFEST_BYTES + 2 * CHUNK);
    expect(endless.cancelled()).toBe(true);
  });

  it('a pack.json that declares a length over the cap is refused before reading', async () => {
    const endless = endlessBody();
    const response = new Response(endless.body, { headers: { 'Content-Length': String(MAX_MANIFEST_BYTES + 1) } });
    const error = await loadError(loadPack({ packUrl: 'http://pack.test/pack.json', fetch: async () => response }));
    expect(error.message).toMatch(/larger than 1 MiB/);
    expect(endless.pulled()).toBeLessThanOrEqual(CHUNK); // at most what the stream queued on creation
  });

  it('a shard body longer than pack.json says stops at its declared size', async () => {
    const declared = tinyManifest().shards['sp.shard1of1.bin'].bytes as number;
    const endless = endlessBody();
    const fetchFn = async (url: string | URL | Request) => {
      const href = String(url);
      return href.endsWith('sp.shard1of1.bin') ? new Response(endless.body) : serveFromDisk(href);
    };
    const error = await loadError(loadPack({ packUrl: 'http://pack.test/pack.json', fetch: fetchFn as typeof fetch }));
    expect(error).toMatchObject({ code: 'pack-checksum', file: 'sp.shard1of1.bin' });
    expect(error.message).toMatch(
      new RegExp(`larger than the ${declared} bytes pack.json says; it was not read further`),
    );
    expect(endless.pulled()).toBeLessThanOrEqual(declared + 2 * CHUNK);
    expect(endless.cancelled()).toBe(true);
  });
});

describe('counts, sizes and architecture integers within the schema bounds', () => {
  it.each([
    ['imageSize', (p: any) => (p.imageSize = 1024), /field "imageSize" is 1024; it must be <= 256/],
    [
      'a VGG width',
      (p: any) => (p.models.vgg.arch.widths[0] = 1e9),
      /field "models\.vgg\.arch\.widths\[0\]" is 1000000000; it must be <= 8192/,
    ],
    [
      'the class count',
      (p: any) => (p.models.vgg.arch.numClasses = 5000),
      /models\.vgg\.arch\.numClasses" is 5000; it must be <= 1000/,
    ],
    ['zDim', (p: any) => (p.models.sp.arch.zDim = 1e6), /models\.sp\.arch\.zDim" is 1000000; it must be <= 1024/],
    [
      'SP channels',
      (p: any) => (p.models.sp.arch.channels = Array(20).fill(8)),
      /models\.sp\.arch\.channels" has 20 entries; it must have at most 8/,
    ],
    [
      'LAG channels',
      (p: any) => (p.models.lag.arch.channels = 0),
      /models\.lag\.arch\.channels" is 0; it must be >= 1/,
    ],
    [
      'the LAG scale',
      (p: any) => (p.models.lag.arch.scale = 3),
      /models\.lag\.arch\.scale" is 3; it must be one of 2, 4, 8, 16/,
    ],
    [
      'LAG residual blocks',
      (p: any) => (p.models.lag.arch.resBlocks = 1000),
      /models\.lag\.arch\.resBlocks" is 1000; it must be <= 32/,
    ],
    [
      'level channels',
      (p: any) => (p.levels[0].channels = 1e7),
      /field "levels\[0\]\.channels" is 10000000; it must be <= 8192/,
    ],
    [
      'a weight dimension',
      (p: any) => (p.models.lag.weightsManifest[0].weights[0].shape = [3, 3, 5, 1e9]),
      /weights\[0\]\.shape\[3\]" is 1000000000/,
    ],
    [
      'a shard size',
      (p: any) => (p.shards['sp.shard1of1.bin'].bytes = 4 * 1024 * 1024 + 1),
      /field "shards\["sp\.shard1of1\.bin"\]\.bytes" is 4194305; it must be <= 4194304/,
    ],
    [
      'the shard count',
      (p: any) => {
        for (let i = 0; i < 70; i++) p.shards[`x${i}.bin`] = { bytes: 1, sha256: '0'.repeat(64) };
      },
      /field "shards" has 73 entries; it must have at most 64/,
    ],
    [
      'the pack id',
      (p: any) => (p.id = 'Not An Id'),
      /field "id" is "Not An Id", which does not have the required form/,
    ],
    [
      'a shard file name',
      (p: any) => (p.shards['../escape.bin'] = p.shards['sp.shard1of1.bin']),
      /field "shards" has an entry named "\.\.\/escape\.bin", which is not an allowed file name/,
    ],
    [
      'a missing architecture field',
      (p: any) => delete p.models.sp.arch.zDim,
      /field "models\.sp\.arch" lacks the required field "zDim"/,
    ],
    ['a wrong type', (p: any) => (p.preview = 'yes'), /field "preview" must be true or false, not "yes"/],
  ])('%s', (_name, edit, message) => {
    const error = validationError(edit);
    expect(error).toMatchObject({ code: 'pack-format', file: 'pack.json' });
    expect(error.message).toMatch(message);
  });

  it('the total of all shards', () => {
    const error = validationError((p) => {
      for (let i = 0; i < 60; i++) p.shards[`big${i}.bin`] = { bytes: 4 * 1024 * 1024, sha256: '0'.repeat(64) };
    });
    expect(error.message).toMatch(/lists 240\.1 MiB of shards; a pack may hold at most 200 MiB/);
  });

  it('bounds a shard by the cap the loader and the file picker use', () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/pack.schema.json'), 'utf8'));
    expect(schema.properties.shards.additionalProperties.properties.bytes.maximum).toBe(MAX_SHARD_BYTES);
  });

  it('allows the image sizes of 32, 64 and 128 px packs', () => {
    for (const size of [32, 64, 128]) {
      const pack = tinyManifest();
      pack.imageSize = size;
      pack.models.vgg.arch.imageSize = size;
      expect(packSchemaProblem(pack), `imageSize ${size}`).toBeNull();
    }
  });
});

describe('the generated validator', () => {
  it('is what docs/pack.schema.json gives today, and is plain code (no eval, no imports)', () => {
    const check = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/node/pack-validator.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(check.status, check.stderr).toBe(0);
    const source = readFileSync(join(REPO_ROOT, 'src/engine/generated/packSchemaValidator.js'), 'utf8');
    expect(source).not.toMatch(/\bnew Function\b|\beval\(|\brequire\(|^import /m);
  });

  it('accepts the committed packs', () => {
    expect(packSchemaProblem(tinyManifest())).toBeNull();
    expect(packSchemaProblem(JSON.parse(readFileSync(join(REPO_ROOT, 'models/cifar10/pack.json'), 'utf8')))).toBeNull();
  });
});
