// A pack a person brings as files: a folder (picked or dropped) or a .zip of one. This module finds pack.json among
// the files, keeps what it lists, and enforces the size caps on the sizes the files declare, BEFORE reading them,
// so that a 50 MB pack.json or a huge shard is refused without being loaded into memory. It does not judge the
// contents: the engine verifies every shard's sha256, the digest and the weights against the architecture.
import { unzipSync } from 'fflate';
import { MAX_MANIFEST_BYTES, MAX_PACK_BYTES, MAX_SHARD_BYTES } from '../engine/packLimits';

export const MANIFEST_NAME = 'pack.json';

/** The largest files accepted: the caps the engine's loader holds every pack to, checked here on the sizes the
 * files declare so that nothing larger is read into memory. */
export const PACK_FILE_LIMITS = {
  manifestBytes: MAX_MANIFEST_BYTES,
  shardBytes: MAX_SHARD_BYTES,
  totalBytes: MAX_MANIFEST_BYTES + MAX_PACK_BYTES,
  /** A zip larger than this is refused before it is read: it would hold more than totalBytes (the allowance
   * covers the zip's own headers, under 100 bytes a file). */
  zipBytes: MAX_MANIFEST_BYTES + MAX_PACK_BYTES + 64 * 1024,
} as const;

/** One file of a folder or zip, not yet read. `path` uses "/" and is relative to what was opened. */
export interface PackFileEntry {
  path: string;
  size: number;
  read(): Promise<Uint8Array>;
}

/** The files of a pack, relative to its pack.json's folder, with what was opened (a folder or zip name). */
export interface PackFileSet {
  label: string;
  files: Record<string, Uint8Array>;
}

/** A pack that cannot be opened from its files; the message says what is wrong and names the file. */
export class PackFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackFilesError';
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function normalise(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\/+/, '');
}

function dirname(path: string): string {
  const at = path.lastIndexOf('/');
  return at < 0 ? '' : path.slice(0, at + 1);
}

/** The shard names pack.json lists, or null when it is not readable JSON of that shape (the engine says why). */
function listedShards(manifestBytes: Uint8Array): string[] | null {
  try {
    const json = JSON.parse(new TextDecoder().decode(manifestBytes)) as { shards?: unknown };
    if (typeof json.shards !== 'object' || json.shards === null || Array.isArray(json.shards)) return null;
    return Object.keys(json.shards);
  } catch {
    return null;
  }
}

/** A listed shard name that would leave the pack's folder or is not a plain relative path. */
function isUnsafeName(name: string): boolean {
  return (
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.split('/').some((part) => part === '..' || part === '.')
  );
}

/**
 * Picks the pack out of `entries`: the pack.json nearest the top (a zip often holds one folder), and the shards it
 * lists next to it. Throws PackFilesError for no pack.json, two at the same depth, a file over the caps, or a
 * listed shard that is not there.
 */
export async function collectPackFiles(entries: PackFileEntry[], label: string): Promise<PackFileSet> {
  const byPath = new Map(entries.map((entry) => [normalise(entry.path), entry]));
  const manifests = [...byPath.keys()].filter((path) => path === MANIFEST_NAME || path.endsWith(`/${MANIFEST_NAME}`));
  if (manifests.length === 0) {
    throw new PackFilesError(
      `"${label}" holds no ${MANIFEST_NAME}; open the folder that scripts/export.py wrote (or a zip of it).`,
    );
  }
  const depth = (path: string) => path.split('/').length;
  const top = Math.min(...manifests.map(depth));
  const candidates = manifests.filter((path) => depth(path) === top);
  if (candidates.length > 1) {
    throw new PackFilesError(`"${label}" holds several packs (${candidates.join(', ')}); open one pack's folder.`);
  }
  const manifestPath = candidates[0];
  const root = dirname(manifestPath);
  const manifest = byPath.get(manifestPath)!;
  if (manifest.size > PACK_FILE_LIMITS.manifestBytes) {
    throw new PackFilesError(
      `${MANIFEST_NAME} in "${label}" is ${formatBytes(manifest.size)}; a pack.json may be at most ${formatBytes(PACK_FILE_LIMITS.manifestBytes)}.`,
    );
  }
  const manifestBytes = await manifest.read();
  const files: Record<string, Uint8Array> = { [MANIFEST_NAME]: manifestBytes };
  const shards = listedShards(manifestBytes);
  if (!shards) return { label, files };

  const wanted: [string, PackFileEntry][] = [];
  let total = manifest.size;
  for (const name of shards) {
    if (isUnsafeName(name))
      throw new PackFilesError(
        `${MANIFEST_NAME} in "${label}" lists a shard with an unusable name ${JSON.stringify(name)}.`,
      );
    const entry = byPath.get(root + name);
    if (!entry) throw new PackFilesError(`"${label}" is missing the shard ${name} that ${MANIFEST_NAME} lists.`);
    if (entry.size > PACK_FILE_LIMITS.shardBytes) {
      throw new PackFilesError(
        `The shard ${name} in "${label}" is ${formatBytes(entry.size)}; a shard may be at most ${formatBytes(PACK_FILE_LIMITS.shardBytes)}.`,
      );
    }
    total += entry.size;
    wanted.push([name, entry]);
  }
  if (total > PACK_FILE_LIMITS.totalBytes) {
    throw new PackFilesError(
      `"${label}" is ${formatBytes(total)}; a pack may be at most ${formatBytes(PACK_FILE_LIMITS.totalBytes)}.`,
    );
  }
  for (const [name, entry] of wanted) files[name] = await entry.read();
  return { label, files };
}

/** The entries of a zip, read from its central directory; each is inflated only when read. */
export function zipEntries(zip: Uint8Array, label: string): PackFileEntry[] {
  const listed: { path: string; size: number }[] = [];
  try {
    // A filter that takes nothing lists the entries without inflating any.
    unzipSync(zip, {
      filter: (file) => {
        if (!file.name.endsWith('/')) listed.push({ path: file.name, size: file.originalSize });
        return false;
      },
    });
  } catch (error) {
    throw new PackFilesError(
      `"${label}" is not a readable zip (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
  return listed.map(({ path, size }) => ({
    path,
    size,
    async read() {
      let out: Record<string, Uint8Array>;
      try {
        out = unzipSync(zip, { filter: (file) => file.name === path });
      } catch (error) {
        throw new PackFilesError(
          `${path} in "${label}" could not be unzipped (${error instanceof Error ? error.message : String(error)}).`,
        );
      }
      const bytes = out[path];
      if (!bytes) throw new PackFilesError(`${path} in "${label}" could not be unzipped.`);
      // The size in the zip's directory is what the caps were checked against; the data must agree with it.
      if (bytes.byteLength !== size)
        throw new PackFilesError(
          `${path} in "${label}" unzips to ${bytes.byteLength} bytes, not the ${size} its zip entry declares.`,
        );
      return bytes;
    },
  }));
}

/** The pack in a zip's bytes. */
export async function packFromZip(zip: Uint8Array, label: string): Promise<PackFileSet> {
  if (zip.byteLength > PACK_FILE_LIMITS.zipBytes) {
    throw new PackFilesError(
      `"${label}" is ${formatBytes(zip.byteLength)}; a pack zip may be at most ${formatBytes(PACK_FILE_LIMITS.zipBytes)}.`,
    );
  }
  return collectPackFiles(zipEntries(zip, label), label);
}

/** Bytes of the pack's files together. */
export function packFileBytes(set: PackFileSet): number {
  return Object.values(set.files).reduce((sum, bytes) => sum + bytes.byteLength, 0);
}
