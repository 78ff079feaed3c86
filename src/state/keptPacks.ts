// Rules about opened (kept) packs that the pack slice applies: which kept pack a link names, when a link needs a
// pack that only its author has, and what is recorded about a pack once it is kept.
import type { KeptPackInfo } from '../engine/packStore';
import type { PackSummary } from '../engine/protocol';
import type { PermalinkState } from '../share/permalink';
import type { PackIndex } from './packIndex';

export type { KeptPackInfo, KeptPackStore } from '../engine/packStore';

/** A pack a link asks for that is neither bundled nor kept here: the person is asked to open it. */
export interface PackNeeded {
  id: string;
  /** The link's digest prefix ('' when the link has none). */
  digest: string;
  /** The pack's title when something here knows it (a kept pack or the index with the same id). */
  title: string | null;
}

/** True when the link was made with this pack: the same digest (the prefix links carry), or the same id when the
 * link carries no digest. */
export function linkMatchesDigest(
  link: Pick<PermalinkState, 'packId' | 'packDigest'>,
  digest: string,
  id: string,
): boolean {
  return link.packDigest ? digest.startsWith(link.packDigest) : id === link.packId;
}

/** The kept pack a link was made with, if any (by digest; by id only for links without a digest). */
export function keptPackForLink(link: PermalinkState, kept: KeptPackInfo[]): KeptPackInfo | undefined {
  return kept.find((p) => linkMatchesDigest(link, p.digest, p.id));
}

/** What to ask for when a link names a pack that is not bundled; null when the bundled index has it. */
export function packNeededFor(link: PermalinkState, index: PackIndex | null, kept: KeptPackInfo[]): PackNeeded | null {
  if (index?.packs.some((p) => p.id === link.packId)) return null;
  // Without an index the bundled packs are unknown: the fallbacks are tried, as before there were opened packs.
  if (!index) return null;
  const title = kept.find((p) => p.id === link.packId)?.title ?? null;
  return { id: link.packId, digest: link.packDigest, title };
}

export function keptInfoOf(pack: PackSummary, files: Record<string, Uint8Array>, now: number): KeptPackInfo {
  return {
    digest: pack.digest,
    id: pack.id,
    title: pack.title,
    imageSize: pack.imageSize,
    bytes: Object.values(files).reduce((sum, bytes) => sum + bytes.byteLength, 0),
    files: Object.keys(files),
    keptAt: now,
  };
}
