// Pack loading through real HTTP: success, progress, caching/offline, and every error path with its code and file.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors';
import { loadPack } from '../../src/engine/pack';
import type { LoadStage } from '../../src/engine/protocol';
import { REPO_ROOT } from './helpers/fixtures';
import { MemoryPackStore } from './helpers/memoryPackStore';
import { startStaticServer, type StaticServer } from './helpers/staticServer';

const TINY = join(REPO_ROOT, 'tests/fixtures/tiny');

/** A private copy of the tiny pack that a test may damage. */
function copyTinyPack(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pack-'));
  for (const file of ['pack.json', 'vgg.shard1of1.bin', 'sp.shard1of1.bin', 'lag.shard1of1.bin']) {
    cpSync(join(TINY, file), join(dir, file));
  }
  return dir;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit pack.json as free JSON
function editManifest(dir: string, edit: (pack: Record<string, any>) => void): void {
  const pack = JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8'));
  edit(pack);
  writeFileSync(join(dir, 'pack.json'), JSON.stringify(pack));
}

async function loadError(url: string, store?: MemoryPackStore): Promise<EngineError> {
  try {
    await loadPack({ packUrl: url, store });
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    return error as EngineError;
  }
  throw new Error(`loading ${url} unexpectedly succeeded`);
}

describe('loading the tiny pack', () => {
  let server: StaticServer;
  beforeAll(async () => {
    server = await startStaticServer(TINY);
  });
  afterAll(() => server.close());

  it('verifies, decodes and reports byte progress', async () => {
    const events: [LoadStage, number, number][] = [];
    const pack = await loadPack({ packUrl: `${server.url}pack.json`, onProgress: (...e) => events.push(e) });
    const manifest = JSON.parse(readFileSync(join(TINY, 'pack.json'), 'utf8'));
    const totalBytes = Object.values<{ bytes: number }>(manifest.shards).reduce((a, s) => a + s.bytes, 0);
    const weightCount = ['vgg', 'sp', 'lag'].reduce(
      (n, m) => n + manifest.models[m].weightsManifest[0].weights.length,
      0,
    );

    expect(pack.fromCache).toBe(false);
    expect(pack.weights.size).toBe(weightCount);
    expect(pack.summary).toMatchObject({ id: 'tiny', digest: manifest.digest, imageSize: 32, bytes: totalBytes });
    expect(pack.summary.lag).toEqual({ scale: 4, lrSize: 8, noiseChannels: 2 });
    const stem = pack.weights.get('lag.stem.kernel')!;
    expect(stem.shape).toEqual([3, 3, 5, 8]);
    expect(stem.values.length).toBe(3 * 3 * 5 * 8);

    const downloads = events.filter(([stage]) => stage === 'download');
    expect(downloads.at(-1)).toEqual(['download', totalBytes, totalBytes]);
    for (let i = 1; i < downloads.length; i++) expect(downloads[i][1]).toBeGreaterThanOrEqual(downloads[i - 1][1]);
    expect(events.map(([stage]) => stage)).toEqual(
      expect.arrayContaining(['manifest', 'download', 'verify', 'decode']),
    );
    expect(events.filter(([stage]) => stage === 'decode').at(-1)).toEqual(['decode', weightCount, weightCount]);
  });

  it('decodes the float16 shards bit-exactly (checked against the raw bytes)', async () => {
    const pack = await loadPack({ packUrl: `${server.url}pack.json` });
    const raw = readFileSync(join(TINY, 'lag.shard1of1.bin'));
    // lag.stem.kernel is the first weight of the lag shard.
    const first = raw.readUInt16LE(0);
    const sign = first & 0x8000 ? -1 : 1;
    const exponent = (first >> 10) & 0x1f;
    const expected =
      exponent === 0 ? sign * (first & 0x3ff) * 2 ** -24 : sign * (1 + (first & 0x3ff) / 1024) * 2 ** (exponent - 15);
    expect(pack.weights.get('lag.stem.kernel')!.values[0]).toBe(expected);
  });

  it('serves a reload from the store, and works offline', async () => {
    const store = new MemoryPackStore();
    const url = `${server.url}pack.json`;
    await loadPack({ packUrl: url, store });
    expect(store.shards.size).toBe(3);

    const before = server.requests.length;
    const again = await loadPack({ packUrl: url, store });
    expect(again.fromCache).toBe(true);
    expect(server.requests.slice(before)).toEqual(['/pack.json']); // only the manifest is asked for

    const offline = await loadPack({ packUrl: url, store, fetch: () => Promise.reject(new TypeError('network down')) });
    expect(offline.fromCache).toBe(true);
    expect(offline.weights.size).toBe(again.weights.size);
  });

  it('re-fetches a corrupted cached shard instead of using it', async () => {
    const store = new MemoryPackStore();
    const url = `${server.url}pack.json`;
    const first = await loadPack({ packUrl: url, store });
    const key = `tiny/${first.manifest.digest}/sp.shard1of1.bin`;
    store.shards.get(key)![10] ^= 0xff;
    const before = server.requests.length;
    const second = await loadPack({ packUrl: url, store });
    expect(second.fromCache).toBe(false);
    expect(server.requests.slice(before)).toEqual(['/pack.json', '/sp.shard1of1.bin']);
    expect(second.weights.get('sp.z_dense.kernel')!.values).toEqual(first.weights.get('sp.z_dense.kernel')!.values);
  });
});

describe('pack errors', () => {
  let dir: string;
  let server: StaticServer;

  async function serve(edit: (dir: string) => void): Promise<string> {
    dir = copyTinyPack();
    edit(dir);
    server = await startStaticServer(dir);
    return `${server.url}pack.json`;
  }
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pack-checksum names the tampered shard', async () => {
    const url = await serve((d) => {
      const bytes = readFileSync(join(d, 'sp.shard1of1.bin'));
      bytes[100] ^= 0x01;
      writeFileSync(join(d, 'sp.shard1of1.bin'), bytes);
    });
    const error = await loadError(url);
    expect(error.code).toBe('pack-checksum');
    expect(error.file).toBe('sp.shard1of1.bin');
    expect(error.message).toMatch(/sha256/);
  });

  it('pack-checksum for a truncated shard', async () => {
    const url = await serve((d) =>
      writeFileSync(join(d, 'lag.shard1of1.bin'), readFileSync(join(d, 'lag.shard1of1.bin')).subarray(0, 100)),
    );
    const error = await loadError(url);
    expect(error).toMatchObject({ code: 'pack-checksum', file: 'lag.shard1of1.bin' });
  });

  it('pack-shard-missing names the missing shard', async () => {
    const url = await serve((d) => rmSync(join(d, 'vgg.shard1of1.bin')));
    const error = await loadError(url);
    expect(error).toMatchObject({ code: 'pack-shard-missing', file: 'vgg.shard1of1.bin' });
    expect(error.message).toMatch(/404/);
  });

  it('pack-format for another formatVersion, with a clear message', async () => {
    const url = await serve((d) => editManifest(d, (p) => (p.formatVersion = 2)));
    const error = await loadError(url);
    expect(error).toMatchObject({ code: 'pack-format', file: 'pack.json' });
    expect(error.message).toMatch(/formatVersion 2.*version 1/);
  });

  it('pack-format for a missing required field', async () => {
    const url = await serve((d) => editManifest(d, (p) => delete p.levels));
    expect(await loadError(url)).toMatchObject({ code: 'pack-format', file: 'pack.json' });
  });

  it('pack-format when the digest does not match the shard list', async () => {
    const url = await serve((d) => editManifest(d, (p) => (p.digest = '0'.repeat(64))));
    const error = await loadError(url);
    expect(error.code).toBe('pack-format');
    expect(error.message).toMatch(/digest/);
  });

  it('pack-shape names a weight whose shape the architecture does not allow', async () => {
    const url = await serve((d) =>
      editManifest(d, (p) => {
        const stem = p.models.lag.weightsManifest[0].weights.find(
          (w: { name: string }) => w.name === 'lag.stem.kernel',
        );
        stem.shape = [3, 3, 8, 5]; // same byte count, transposed
      }),
    );
    const error = await loadError(url);
    expect(error.code).toBe('pack-shape');
    expect(error.message).toContain('lag.stem.kernel');
    expect(error.message).toContain('[3, 3, 5, 8]');
  });

  it('pack-shape when the architecture in pack.json needs weights the pack lacks', async () => {
    const url = await serve((d) => editManifest(d, (p) => (p.models.lag.arch.resBlocks = 2)));
    const error = await loadError(url);
    expect(error.code).toBe('pack-shape');
    expect(error.message).toContain('lag.res2.conv1.kernel');
  });

  it('pack-shape for a weight the architecture does not have', async () => {
    const url = await serve((d) =>
      editManifest(d, (p) => {
        // Zero elements, so the byte count still adds up and only the name is wrong.
        p.models.vgg.weightsManifest[0].weights.push({ name: 'vgg.extra.kernel', shape: [0], dtype: 'float32' });
      }),
    );
    const error = await loadError(url);
    expect(error.code).toBe('pack-shape');
    expect(error.message).toMatch(/vgg\.extra\.kernel is not part of the vgg architecture/);
  });

  it('pack-not-found for a missing pack.json', async () => {
    const url = await serve(() => {});
    expect(await loadError(url.replace('pack.json', 'nope/pack.json'))).toMatchObject({ code: 'pack-not-found' });
  });

  it('pack-not-found when offline with nothing cached', async () => {
    const error = await loadPack({
      packUrl: 'http://127.0.0.1:9/pack.json',
      fetch: () => Promise.reject(new TypeError('offline')),
    }).catch((e) => e);
    expect(error).toMatchObject({ code: 'pack-not-found' });
  });
});
