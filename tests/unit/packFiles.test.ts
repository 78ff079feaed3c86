// Finding a pack among opened files (a folder's entries or a real zip made with fflate here) and the size caps,
// which must refuse an oversized file from its declared size, before reading it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  PACK_FILE_LIMITS,
  PackFilesError,
  collectPackFiles,
  packFromZip,
  zipEntries,
  type PackFileEntry,
} from '../../src/state/packFiles';
import { FILES_PACK_URL, filesFetch } from '../../src/engine/packFilesSource';

const TINY64 = join(__dirname, '../fixtures/tiny64');
const packBytes = () =>
  Object.fromEntries(
    readdirSync(TINY64)
      .filter((n) => n === 'pack.json' || /\.shard\d+of\d+\.bin$/.test(n))
      .map((n) => [n, new Uint8Array(readFileSync(join(TINY64, n)))]),
  );

function entries(files: Record<string, Uint8Array>, prefix = ''): PackFileEntry[] {
  return Object.entries(files).map(([name, bytes]) => ({
    path: prefix + name,
    size: bytes.byteLength,
    read: async () => bytes,
  }));
}

/** An entry that declares a size but must never be read (the cap has to refuse it first). */
function unreadable(path: string, size: number): PackFileEntry {
  return {
    path,
    size,
    read: () => {
      throw new Error(`${path} was read although it is over the cap`);
    },
  };
}

describe('collectPackFiles', () => {
  it('keeps pack.json and the shards it lists, relative to its folder, ignoring other files', async () => {
    const files = packBytes();
    const set = await collectPackFiles(
      [...entries(files, 'my-pack/'), ...entries({ 'notes.txt': new Uint8Array(3) }, 'my-pack/')],
      'my-pack',
    );
    expect(Object.keys(set.files).sort()).toEqual([
      'lag.shard1of1.bin',
      'pack.json',
      'sp.shard1of1.bin',
      'vgg.shard1of1.bin',
    ]);
    expect(set.files['sp.shard1of1.bin']).toEqual(files['sp.shard1of1.bin']);
    expect(set.label).toBe('my-pack');
  });

  it('takes the pack.json nearest the top and refuses two at the same depth', async () => {
    const files = packBytes();
    const nested = await collectPackFiles(
      [...entries(files, 'a/'), ...entries({ 'pack.json': new Uint8Array(2) }, 'a/old/')],
      'a',
    );
    expect(nested.files['pack.json']).toEqual(files['pack.json']);
    await expect(collectPackFiles([...entries(files, 'a/'), ...entries(files, 'b/')], 'two')).rejects.toThrow(
      /several packs \(a\/pack.json, b\/pack.json\)/,
    );
  });

  it('says so when there is no pack.json or a listed shard is missing', async () => {
    const files = packBytes();
    await expect(collectPackFiles(entries({ 'x.bin': new Uint8Array(1) }), 'stuff')).rejects.toThrow(
      /"stuff" holds no pack.json/,
    );
    delete files['lag.shard1of1.bin'];
    await expect(collectPackFiles(entries(files), 'tiny64')).rejects.toThrow(
      /"tiny64" is missing the shard lag.shard1of1.bin that pack.json lists/,
    );
  });

  it('refuses a 50 MB pack.json, an oversized shard and an oversized pack from their sizes, without reading them', async () => {
    const big = await collectPackFiles([unreadable('pack.json', 50 * 1024 * 1024)], 'huge').catch((e: unknown) => e);
    expect(big).toBeInstanceOf(PackFilesError);
    expect((big as Error).message).toBe('pack.json in "huge" is 50.0 MB; a pack.json may be at most 1.0 MB.');

    const files = packBytes();
    const withBigShard = [
      ...entries({
        'pack.json': files['pack.json'],
        'vgg.shard1of1.bin': files['vgg.shard1of1.bin'],
        'lag.shard1of1.bin': files['lag.shard1of1.bin'],
      }),
      unreadable('sp.shard1of1.bin', PACK_FILE_LIMITS.shardBytes + 1),
    ];
    await expect(collectPackFiles(withBigShard, 'p')).rejects.toThrow(
      /The shard sp.shard1of1.bin in "p" is 4.0 MB; a shard may be at most 4.0 MB/,
    );

    // 51 shards at the shard cap pass one by one but not together.
    const names = Array.from({ length: 51 }, (_, i) => `w.shard${i + 1}of51.bin`);
    const manifest = new TextEncoder().encode(
      JSON.stringify({ shards: Object.fromEntries(names.map((n) => [n, { bytes: PACK_FILE_LIMITS.shardBytes }])) }),
    );
    const tooMuch = [
      ...entries({ 'pack.json': manifest }),
      ...names.map((n) => unreadable(n, PACK_FILE_LIMITS.shardBytes)),
    ];
    await expect(collectPackFiles(tooMuch, 'p')).rejects.toThrow(/"p" is 204.0 MB; a pack may be at most 201.0 MB/);
  });

  it('refuses shard names that would leave the pack folder', async () => {
    const manifest = new TextEncoder().encode(JSON.stringify({ shards: { '../secret.bin': { bytes: 1 } } }));
    await expect(collectPackFiles(entries({ 'pack.json': manifest }, 'p/'), 'p')).rejects.toThrow(
      /unusable name "..\/secret.bin"/,
    );
  });

  it('passes an unreadable pack.json on alone, for the engine to name what is wrong', async () => {
    const set = await collectPackFiles(entries({ 'pack.json': new TextEncoder().encode('{ not json') }), 'p');
    expect(Object.keys(set.files)).toEqual(['pack.json']);
  });
});

describe('zips', () => {
  it('reads a zip of a pack folder (a folder inside the zip), inflating only what the pack needs', async () => {
    const files = packBytes();
    const zip = zipSync({
      'tiny64/': {},
      ...Object.fromEntries(Object.entries(files).map(([n, b]) => [`tiny64/${n}`, b])),
      'README.txt': new Uint8Array(5),
    });
    expect(
      zipEntries(zip, 'z')
        .map((e) => e.path)
        .sort(),
    ).toEqual([
      'README.txt',
      'tiny64/lag.shard1of1.bin',
      'tiny64/pack.json',
      'tiny64/sp.shard1of1.bin',
      'tiny64/vgg.shard1of1.bin',
    ]);
    const set = await packFromZip(zip, 'tiny64.zip');
    expect(Object.keys(set.files).sort()).toEqual([
      'lag.shard1of1.bin',
      'pack.json',
      'sp.shard1of1.bin',
      'vgg.shard1of1.bin',
    ]);
    for (const [name, bytes] of Object.entries(files)) expect(set.files[name]).toEqual(bytes);
  });

  it('refuses bytes that are not a zip, and a zip whose pack.json is over the cap', async () => {
    await expect(packFromZip(new TextEncoder().encode('not a zip at all'), 'fake.zip')).rejects.toThrow(
      /"fake.zip" is not a readable zip/,
    );
    const zip = zipSync({ 'pack.json': [new Uint8Array(PACK_FILE_LIMITS.manifestBytes + 1), { level: 1 }] });
    await expect(packFromZip(zip, 'big.zip')).rejects.toThrow(
      /pack.json in "big.zip" is 1.0 MB; a pack.json may be at most 1.0 MB/,
    );
  });
});

describe('filesFetch', () => {
  it('serves the files under the opened-pack URL and answers 404 for anything else', async () => {
    const fetchFiles = filesFetch({ 'pack.json': new Uint8Array([1, 2]), 'a b.bin': new Uint8Array([3]) });
    expect(new Uint8Array(await (await fetchFiles(FILES_PACK_URL)).arrayBuffer())).toEqual(new Uint8Array([1, 2]));
    expect(new Uint8Array(await (await fetchFiles(new URL('a%20b.bin', FILES_PACK_URL))).arrayBuffer())).toEqual(
      new Uint8Array([3]),
    );
    expect((await fetchFiles(new URL('missing.bin', FILES_PACK_URL))).status).toBe(404);
    expect((await fetchFiles('https://example.com/pack.json')).status).toBe(404);
  });
});
