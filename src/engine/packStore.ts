// Where verified pack files are kept between visits, so that a reload works offline.
//
// Shards are keyed by the pack digest (the identity of the weights): a new export gets new keys, and entries of a
// pack's older digests are pruned once the new one has loaded. pack.json is keyed by its URL: it is the entry
// point that tells which digest to look for when the network is unavailable.

export interface PackStore {
  getManifest(packUrl: string): Promise<string | undefined>;
  putManifest(packUrl: string, text: string): Promise<void>;
  getShard(packId: string, digest: string, file: string): Promise<Uint8Array | undefined>;
  putShard(packId: string, digest: string, file: string, bytes: Uint8Array): Promise<void>;
  deleteShard(packId: string, digest: string, file: string): Promise<void>;
  /** Removes shards of `packId` stored under any digest other than `keepDigest`. */
  pruneOtherDigests(packId: string, keepDigest: string): Promise<void>;
}

const CACHE_NAME = 'pyramid-playground-packs-v1';
// Cache Storage needs http(s) request URLs; these never reach the network.
const KEY_ROOT = 'https://pack-cache.invalid/';

function shardKey(packId: string, digest: string, file: string): string {
  return `${KEY_ROOT}shards/${encodeURIComponent(packId)}/${digest}/${encodeURIComponent(file)}`;
}

function manifestKey(packUrl: string): string {
  return `${KEY_ROOT}manifest?url=${encodeURIComponent(packUrl)}`;
}

/** Cache Storage (window and worker); null where it is unavailable (insecure context, Node, some private modes). */
export async function openCacheStoragePackStore(): Promise<PackStore | null> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return null;
  let cache: Cache;
  try {
    cache = await storage.open(CACHE_NAME);
  } catch {
    return null; // e.g. SecurityError in an opaque origin
  }
  const readBytes = async (key: string) => {
    const response = await cache.match(key);
    return response ? new Uint8Array(await response.arrayBuffer()) : undefined;
  };
  return {
    async getManifest(packUrl) {
      const response = await cache.match(manifestKey(packUrl));
      return response ? response.text() : undefined;
    },
    async putManifest(packUrl, text) {
      await cache.put(manifestKey(packUrl), new Response(text, { headers: { 'content-type': 'application/json' } }));
    },
    getShard: (packId, digest, file) => readBytes(shardKey(packId, digest, file)),
    async putShard(packId, digest, file, bytes) {
      const copy = new Uint8Array(bytes.byteLength);
      copy.set(bytes);
      await cache.put(shardKey(packId, digest, file), new Response(copy.buffer));
    },
    async deleteShard(packId, digest, file) {
      await cache.delete(shardKey(packId, digest, file));
    },
    async pruneOtherDigests(packId, keepDigest) {
      const prefix = `${KEY_ROOT}shards/${encodeURIComponent(packId)}/`;
      for (const request of await cache.keys()) {
        if (request.url.startsWith(prefix) && !request.url.startsWith(`${prefix}${keepDigest}/`)) {
          await cache.delete(request);
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Kept packs: packs a person opened from a folder or a zip, kept by digest so that they are there after a reload.
// They live in their own cache (nothing above prunes them) and are verified again by the engine each time they are
// loaded, like any pack.

export interface KeptPackInfo {
  digest: string;
  id: string;
  title: string;
  imageSize: number;
  /** Bytes of all its files (pack.json and shards). */
  bytes: number;
  files: string[];
  keptAt: number;
}

export interface KeptPackStore {
  list(): Promise<KeptPackInfo[]>;
  put(info: KeptPackInfo, files: Record<string, Uint8Array>): Promise<void>;
  /** The files of a kept pack; undefined when it is not kept (or some of its files are gone). */
  get(digest: string): Promise<Record<string, Uint8Array> | undefined>;
  remove(digest: string): Promise<void>;
}

const KEPT_CACHE_NAME = 'pyramid-playground-kept-packs-v1';
const KEPT_INDEX_KEY = `${KEY_ROOT}kept/index.json`;

function keptFileKey(digest: string, file: string): string {
  return `${KEY_ROOT}kept/${digest}/${encodeURIComponent(file)}`;
}

function isKeptPackInfo(value: unknown): value is KeptPackInfo {
  const v = value as Partial<KeptPackInfo> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.digest === 'string' &&
    /^[0-9a-f]{64}$/.test(v.digest) &&
    typeof v.id === 'string' &&
    typeof v.title === 'string' &&
    typeof v.imageSize === 'number' &&
    typeof v.bytes === 'number' &&
    Array.isArray(v.files) &&
    v.files.every((f) => typeof f === 'string') &&
    typeof v.keptAt === 'number'
  );
}

/** Kept packs in Cache Storage; null where it is unavailable (then opened packs last for the visit only). */
export async function openKeptPackStore(): Promise<KeptPackStore | null> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (!storage) return null;
  let cache: Cache;
  try {
    cache = await storage.open(KEPT_CACHE_NAME);
  } catch {
    return null;
  }
  const readIndex = async (): Promise<KeptPackInfo[]> => {
    const response = await cache.match(KEPT_INDEX_KEY);
    if (!response) return [];
    try {
      const json: unknown = await response.json();
      return Array.isArray(json) ? json.filter(isKeptPackInfo) : [];
    } catch {
      return []; // an unreadable index lists nothing; its packs are then simply not offered
    }
  };
  const writeIndex = (list: KeptPackInfo[]) =>
    cache.put(KEPT_INDEX_KEY, new Response(JSON.stringify(list), { headers: { 'content-type': 'application/json' } }));
  return {
    list: readIndex,
    async put(info, files) {
      for (const [file, bytes] of Object.entries(files)) {
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        await cache.put(keptFileKey(info.digest, file), new Response(copy.buffer));
      }
      // The index is written last: a pack is listed only once all its files are in.
      const list = (await readIndex()).filter((p) => p.digest !== info.digest);
      await writeIndex([...list, { ...info, files: Object.keys(files) }]);
    },
    async get(digest) {
      const info = (await readIndex()).find((p) => p.digest === digest);
      if (!info) return undefined;
      const files: Record<string, Uint8Array> = {};
      for (const file of info.files) {
        const response = await cache.match(keptFileKey(digest, file));
        if (!response) return undefined;
        files[file] = new Uint8Array(await response.arrayBuffer());
      }
      return files;
    },
    async remove(digest) {
      const list = await readIndex();
      await writeIndex(list.filter((p) => p.digest !== digest));
      const prefix = `${KEY_ROOT}kept/${digest}/`;
      for (const request of await cache.keys()) {
        if (request.url.startsWith(prefix)) await cache.delete(request);
      }
    },
  };
}

const PERSIST_ASKED_KEY = 'pyramid-playground.persist-asked';

/** Asks the browser once (per origin) to keep this site's storage under pressure, so kept packs are not evicted. */
export async function askPersistentStorageOnce(): Promise<void> {
  const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
  if (!storage?.persist) return;
  try {
    if (globalThis.localStorage?.getItem(PERSIST_ASKED_KEY)) return;
    globalThis.localStorage?.setItem(PERSIST_ASKED_KEY, new Date().toISOString());
    if (await storage.persisted?.()) return;
    await storage.persist();
  } catch {
    /* a refusal or a blocked localStorage: kept packs still work, they may just be evicted under pressure */
  }
}
