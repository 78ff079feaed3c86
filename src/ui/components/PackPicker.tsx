// The pack picker in the header: the bundled packs (models/index.json) and the packs opened from files and kept
// here, Open pack... (a .zip, or a folder), the list of kept packs with their size and Remove, and the note a link
// shows when it needs a pack that is not here. A folder or a .zip dropped anywhere on the page opens too.
import { useCallback, useEffect, useRef } from 'react';
import { PackFilesError, formatBytes, type PackFileSet } from '../../state/packFiles';
import type { PlaygroundState } from '../../state/store';
import { packDropOf, packFromDrop, packFromInputFiles } from '../packInput';
import { usePlayground, usePlaygroundStore } from '../storeContext';

const BUNDLED = 'bundled:';
const OPENED = 'opened:';

function selectedValue(s: PlaygroundState): string {
  const origin = s.packOrigin;
  if (!origin) return '';
  return origin.kind === 'bundled' ? BUNDLED + origin.id : OPENED + origin.digest;
}

/** Turns a read failure into an error notice; the pack in use is untouched. */
function useOpenFiles() {
  const store = usePlaygroundStore();
  return useCallback(
    async (read: () => Promise<PackFileSet>) => {
      let files: PackFileSet;
      try {
        files = await read();
      } catch (error) {
        const message =
          error instanceof PackFilesError
            ? error.message
            : `The pack could not be read: ${error instanceof Error ? error.message : String(error)}`;
        const current = store.getState().pack;
        store.getState().reportError('pack', `${message}${current ? ` "${current.title}" is still loaded.` : ''}`);
        return;
      }
      await store.getState().openPackFiles(files);
    },
    [store],
  );
}

/** Opens folders and zips dropped anywhere; image drops are left to the input pane. */
function usePackDrops(open: ReturnType<typeof useOpenFiles>) {
  useEffect(() => {
    const onDrop = (event: DragEvent) => {
      // The image drop zone takes images only (and explains a folder dropped there); packs are dropped elsewhere.
      if (event.target instanceof Element && event.target.closest('.drop-zone')) return;
      const drop = packDropOf(event.dataTransfer);
      if (!drop) return;
      event.preventDefault();
      event.stopPropagation();
      void open(() => packFromDrop(drop));
    };
    // A drop outside the input pane would otherwise make the browser navigate to the file.
    const onDragOver = (event: DragEvent) => {
      if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
    };
    window.addEventListener('drop', onDrop, true);
    window.addEventListener('dragover', onDragOver);
    return () => {
      window.removeEventListener('drop', onDrop, true);
      window.removeEventListener('dragover', onDragOver);
    };
  }, [open]);
}

function OpenPackInputs({ idSuffix }: { idSuffix: string }) {
  const open = useOpenFiles();
  const onFiles = (input: HTMLInputElement) => {
    const files = Array.from(input.files ?? []);
    input.value = '';
    if (files.length) void open(() => packFromInputFiles(files));
  };
  const folderRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // React does not know the (non-standard, universally supported) attribute.
    folderRef.current?.setAttribute('webkitdirectory', '');
  }, []);
  return (
    <span className="pack-open">
      <label className="button file-button">
        Open pack…
        <input
          type="file"
          accept=".zip,application/zip,.json,.bin"
          multiple
          className="visually-hidden"
          data-testid={`pack-open${idSuffix}`}
          aria-label="Open a pack: a .zip of a pack folder, or pack.json with its shards"
          onChange={(e) => onFiles(e.target)}
        />
      </label>
      <label className="button file-button">
        Open folder…
        <input
          ref={folderRef}
          type="file"
          className="visually-hidden"
          data-testid={`pack-open-folder${idSuffix}`}
          aria-label="Open a pack folder"
          onChange={(e) => onFiles(e.target)}
        />
      </label>
    </span>
  );
}

function KeptPackList() {
  const kept = usePlayground((s) => s.keptPacks);
  const remove = usePlayground((s) => s.removeKeptPack);
  if (kept.length === 0) return null;
  return (
    <details className="kept-packs">
      <summary>Opened packs ({kept.length})</summary>
      <ul data-testid="pack-list">
        {kept.map((p) => (
          <li key={p.digest} data-digest={p.digest}>
            <span className="kept-title">{p.title}</span>{' '}
            <span className="kept-meta">
              {p.imageSize} px · {formatBytes(p.bytes)} · {p.digest.slice(0, 8)}
            </span>
            <button
              type="button"
              onClick={() => void remove(p.digest)}
              aria-label={`Remove ${p.title} from this browser`}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
    </details>
  );
}

export function PackPicker() {
  const store = usePlaygroundStore();
  const index = usePlayground((s) => s.packIndex);
  const kept = usePlayground((s) => s.keptPacks);
  const pack = usePlayground((s) => s.pack);
  const value = usePlayground(selectedValue);
  const open = useOpenFiles();
  usePackDrops(open);
  const bundled = index?.packs ?? [];
  const notKept = pack && value === OPENED + pack.digest && !kept.some((p) => p.digest === pack.digest) ? pack : null;
  useEffect(() => {
    // The sample cells are sized for the pack's image size (styles.css, "packs of any size").
    if (pack) document.documentElement.dataset.packImageSize = String(pack.imageSize);
  }, [pack]);
  const onChange = (choice: string) => {
    if (choice.startsWith(BUNDLED)) void store.getState().loadPack(choice.slice(BUNDLED.length));
    else if (choice.startsWith(OPENED)) void store.getState().openKeptPack(choice.slice(OPENED.length));
  };
  return (
    <div className="pack-picker">
      <label className="inline-field">
        <span>Pack</span>
        <select data-testid="pack-select" value={value} onChange={(e) => onChange(e.target.value)}>
          {value === '' && <option value="">…</option>}
          {bundled.length > 0 && (
            <optgroup label="Bundled">
              {bundled.map((p) => (
                <option key={p.id} value={BUNDLED + p.id}>
                  {p.title}
                  {p.preview ? ' (preview)' : ''}
                </option>
              ))}
            </optgroup>
          )}
          {(kept.length > 0 || notKept) && (
            <optgroup label="Opened">
              {kept.map((p) => (
                <option key={p.digest} value={OPENED + p.digest}>
                  {p.title} ({p.imageSize} px, {formatBytes(p.bytes)})
                </option>
              ))}
              {notKept && <option value={OPENED + notKept.digest}>{notKept.title} (not kept)</option>}
            </optgroup>
          )}
        </select>
      </label>
      <OpenPackInputs idSuffix="" />
      <KeptPackList />
    </div>
  );
}

/** Shown while a link waits for a pack that is not here: which one (title, digest) and a way to open it. */
export function PackNeededNote() {
  const needed = usePlayground((s) => s.packNeeded);
  const dismiss = usePlayground((s) => s.dismissPackNeeded);
  if (!needed) return null;
  const name = needed.title ? `"${needed.title}" (id ${needed.id})` : `"${needed.id}"`;
  return (
    <div className="pack-needed" data-testid="pack-needed" role="status">
      <span>
        This link was made with the pack {name}
        {needed.digest ? `, digest ${needed.digest}` : ''}, which is not here. Open that pack to see the link&apos;s
        images.
      </span>
      <OpenPackInputs idSuffix="-needed" />
      <button type="button" className="dismiss" onClick={dismiss} aria-label="Dismiss: keep using the current pack">
        ×
      </button>
    </div>
  );
}
