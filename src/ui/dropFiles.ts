// What to open from a drop (pure; tested in Node with fake DataTransfer items). A drop can hold several files,
// folders, or only text: exactly one image is opened, and anything else is explained.

export interface DroppedEntry {
  name: string;
  type: string;
  /** From DataTransferItem.webkitGetAsEntry(); a folder's File cannot be read. */
  isDirectory: boolean;
}

export type DropDecision = { kind: 'open'; index: number; warning: string | null } | { kind: 'error'; message: string };

export function decideDrop(entries: DroppedEntry[], hasText: boolean): DropDecision {
  if (entries.length === 0) {
    return {
      kind: 'error',
      message: hasText
        ? 'That was text, not an image file. Drop an image file (PNG, JPEG, WebP…).'
        : 'Nothing usable was dropped. Drop an image file.',
    };
  }
  const files = entries.map((entry, index) => ({ ...entry, index })).filter((entry) => !entry.isDirectory);
  const folders = entries.filter((entry) => entry.isDirectory);
  if (files.length === 0) {
    const names = folders.map((f) => `"${f.name}"`).join(', ');
    return {
      kind: 'error',
      message: `That was ${folders.length === 1 ? 'a folder' : 'folders'} (${names}), not an image. Open the folder and drop one image file; to open a model pack, drop its folder outside this box or use Open pack….`,
    };
  }
  // The first file that says it is an image; otherwise the first file (its bytes are checked when it opens).
  const chosen = files.find((f) => f.type.startsWith('image/')) ?? files[0];
  if (entries.length === 1) return { kind: 'open', index: chosen.index, warning: null };
  const skipped = entries.length - 1;
  return {
    kind: 'open',
    index: chosen.index,
    warning: `${entries.length} items were dropped; only "${chosen.name}" was opened (${skipped} ignored${folders.length ? `, including ${folders.length === 1 ? 'a folder' : `${folders.length} folders`}` : ''}). The playground works on one image at a time.`,
  };
}
