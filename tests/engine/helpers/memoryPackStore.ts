// An in-memory PackStore with the same contract as the Cache Storage one (Node has no Cache Storage).
import type { PackStore } from '../../../src/engine/packStore';

export class MemoryPackStore implements PackStore {
  readonly manifests = new Map<string, string>();
  readonly shards = new Map<string, Uint8Array>();

  private key(packId: string, digest: string, file: string): string {
    return `${packId}/${digest}/${file}`;
  }
  async getManifest(packUrl: string) {
    return this.manifests.get(packUrl);
  }
  async putManifest(packUrl: string, text: string) {
    this.manifests.set(packUrl, text);
  }
  async getShard(packId: string, digest: string, file: string) {
    return this.shards.get(this.key(packId, digest, file));
  }
  async putShard(packId: string, digest: string, file: string, bytes: Uint8Array) {
    this.shards.set(this.key(packId, digest, file), bytes.slice());
  }
  async deleteShard(packId: string, digest: string, file: string) {
    this.shards.delete(this.key(packId, digest, file));
  }
  async pruneOtherDigests(packId: string, keepDigest: string) {
    for (const key of [...this.shards.keys()]) {
      if (key.startsWith(`${packId}/`) && !key.startsWith(`${packId}/${keepDigest}/`)) this.shards.delete(key);
    }
  }
}
