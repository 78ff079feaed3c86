// models/index.json, written by scripts/export.py: { "default": "<id>", "packs": [{ "id", "title", "preview",
// "digest", "bytes" }] }: the bundled packs the pack picker offers.

export interface PackChoice {
  id: string;
  title: string;
  preview: boolean;
  /** The pack's digest (64 hex digits) when the index gives it: a link's digest is matched against it. */
  digest?: string;
  /** Bytes of its shards, when the index gives them. */
  bytes?: number;
}

export interface PackIndex {
  defaultId: string;
  packs: PackChoice[];
}

/** Tried in order when models/index.json is missing or unreadable. */
export const FALLBACK_PACK_IDS = ['cifar10', 'cifar10-preview', 'tiny'];

const PACK_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Validates untrusted JSON; returns null when it is not a usable index. */
export function parsePackIndex(json: unknown): PackIndex | null {
  if (typeof json !== 'object' || json === null) return null;
  const record = json as Record<string, unknown>;
  if (!Array.isArray(record.packs)) return null;
  const packs: PackChoice[] = [];
  for (const entry of record.packs) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { id, title, preview, digest, bytes } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || !PACK_ID.test(id)) continue;
    packs.push({
      id,
      title: typeof title === 'string' ? title.slice(0, 120) : id,
      preview: preview === true,
      ...(typeof digest === 'string' && /^[0-9a-f]{64}$/.test(digest) ? { digest } : {}),
      ...(typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes >= 0 ? { bytes } : {}),
    });
  }
  const defaultId = typeof record.default === 'string' && PACK_ID.test(record.default) ? record.default : packs[0]?.id;
  if (!defaultId) return null;
  return { defaultId, packs };
}

/** The order in which packs are tried: the one a link asks for, the index default and the other
 * indexed packs; without an index, the fallbacks. */
export function packCandidates(requested: string | null, index: PackIndex | null): string[] {
  const order = [requested, index?.defaultId, ...(index ? index.packs.map((p) => p.id) : FALLBACK_PACK_IDS)];
  return order.filter((id, i): id is string => !!id && order.indexOf(id) === i);
}
