// The browser's ways of handing over a pack, turned into the entries that src/state/packFiles.ts reads: files
// from an <input> (a .zip, a folder picked with webkitdirectory, or pack.json and its shards chosen together) and
// items dropped on the page (a folder or a .zip). Sizes come from the File objects, so the caps apply before reading.
import {
  PACK_FILE_LIMITS,
  PackFilesError,
  collectPackFiles,
  formatBytes,
  packFromZip,
  type PackFileEntry,
  type PackFileSet,
} from '../state/packFiles';

export function isZipName(name: string): boolean {
  return /\.zip$/i.test(name);
}

function fileEntry(file: File, path: string): PackFileEntry {
  return { path, size: file.size, read: async () => new Uint8Array(await file.arrayBuffer()) };
}

async function readZip(file: File): Promise<PackFileSet> {
  if (file.size > PACK_FILE_LIMITS.zipBytes) {
    throw new PackFilesError(
      `"${file.name}" is ${formatBytes(file.size)}; a pack zip may be at most ${formatBytes(PACK_FILE_LIMITS.zipBytes)}.`,
    );
  }
  return packFromZip(new Uint8Array(await file.arrayBuffer()), file.name);
}

/** The top folder of a webkitdirectory selection ("my-pack/pack.json" -> "my-pack"). */
function folderLabel(files: File[]): string | null {
  const first = files.find((f) => f.webkitRelativePath)?.webkitRelativePath;
  return first && first.includes('/') ? first.slice(0, first.indexOf('/')) : null;
}

/** Reads the files an <input type=file> gave: one .zip, or the files of a pack (from a folder or chosen together). */
export async function packFromInputFiles(files: File[]): Promise<PackFileSet> {
  if (files.length === 0) throw new PackFilesError('No file was chosen.');
  if (files.length === 1 && isZipName(files[0].name)) return readZip(files[0]);
  const zips = files.filter((f) => isZipName(f.name));
  if (zips.length > 0 && zips.length === files.length) throw new PackFilesError('Open one .zip at a time.');
  const label = folderLabel(files) ?? (files.length === 1 ? files[0].name : 'the chosen files');
  return collectPackFiles(
    files.map((file) => fileEntry(file, file.webkitRelativePath || file.name)),
    label,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Drops (FileSystemEntry API: a dropped folder can only be walked through its entries)

function readAllEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    // readEntries answers in batches (100 in Chromium) until an empty one.
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

const fileOf = (entry: FileSystemFileEntry) => new Promise<File>((resolve, reject) => entry.file(resolve, reject));

/** Folders are walked to this depth: a pack is one folder, possibly inside one more. */
const MAX_DROP_DEPTH = 3;

async function walk(entry: FileSystemEntry, prefix: string, depth: number, out: PackFileEntry[]): Promise<void> {
  if (entry.isFile) {
    out.push(fileEntry(await fileOf(entry as FileSystemFileEntry), prefix + entry.name));
  } else if (entry.isDirectory && depth < MAX_DROP_DEPTH) {
    for (const child of await readAllEntries((entry as FileSystemDirectoryEntry).createReader())) {
      await walk(child, `${prefix}${entry.name}/`, depth + 1, out);
    }
  }
}

/** What a drop holds, taken synchronously (the DataTransfer is emptied once the event handler returns). */
export interface PackDrop {
  entries: FileSystemEntry[];
  files: File[];
}

/** The drop's pack candidates: a folder or a .zip; null when the drop is something else (an image, text). */
export function packDropOf(transfer: DataTransfer | null): PackDrop | null {
  if (!transfer) return null;
  const entries: FileSystemEntry[] = [];
  for (const item of Array.from(transfer.items)) {
    const entry = item.kind === 'file' ? item.webkitGetAsEntry?.() : null;
    if (entry) entries.push(entry);
  }
  const files = Array.from(transfer.files);
  const hasFolder = entries.some((e) => e.isDirectory);
  const isZip = files.length === 1 && isZipName(files[0].name);
  return hasFolder || isZip ? { entries, files } : null;
}

export async function packFromDrop(drop: PackDrop): Promise<PackFileSet> {
  if (drop.files.length === 1 && isZipName(drop.files[0].name)) return readZip(drop.files[0]);
  const folders = drop.entries.filter((e) => e.isDirectory);
  if (folders.length !== 1) throw new PackFilesError(`${folders.length} folders were dropped; drop one pack folder.`);
  const out: PackFileEntry[] = [];
  await walk(folders[0], '', 0, out);
  return collectPackFiles(out, folders[0].name);
}
