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
