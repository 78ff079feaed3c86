// The pack slice: the model pack (index, loading with progress, fallbacks), packs opened from files and kept by
// digest, the engine's backend and its events, and links, which name a pack and so settle once it is loaded.
import type { PackSummary } from '../../engine/protocol';
import { checkPermalinkAgainstPack, type PermalinkState } from '../../share/permalink';
import type { EngineEvent } from '../engineClient';
import {
  keptInfoOf,
  keptPackForLink,
  linkMatchesDigest,
  packNeededFor,
  type KeptPackInfo,
  type KeptPackStore,
  type PackNeeded,
} from '../keptPacks';
import type { PackFileSet } from '../packFiles';
import { packCandidates, parsePackIndex, type PackIndex } from '../packIndex';
import type { BackendStatus, PackStatus, PlaygroundState } from '../store';
import { describe, type SliceContext } from './context';
import { isStoppedFailure } from './runs';
import { settingsOfLink } from './settings';
import { withNotes } from './source';

export interface PackState {
  packIndex: PackIndex | null;
  packStatus: PackStatus;
  pack: PackSummary | null;
  backend: BackendStatus;
  /** False until the startup (or a link) has been fully applied: the URL must not be rewritten before. */
  shareReady: boolean;
  /** Packs opened from files and kept in this browser, oldest first. */
  keptPacks: KeptPackInfo[];
  /** Where the loaded pack came from: a bundled pack (models/) or one opened from files (by digest). */
  packOrigin: { kind: 'bundled'; id: string } | { kind: 'opened'; digest: string } | null;
  /** A link's pack that is not here; the link is applied once the person opens it. */
  packNeeded: PackNeeded | null;
}

export interface PackActions {
  startup(options: { backend: PlaygroundState['backend']['requested']; link: PermalinkState | null }): Promise<void>;
  applyLink(link: PermalinkState): Promise<void>;
  loadPack(id: string): Promise<void>;
  /** Loads a pack read from a folder or a zip; verified by the engine, then kept. False when it was refused (the
   * current pack stays loaded and an error names what is wrong). */
  openPackFiles(files: PackFileSet): Promise<boolean>;
  openKeptPack(digest: string): Promise<boolean>;
  removeKeptPack(digest: string): Promise<void>;
  dismissPackNeeded(): void;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

/** A pack failure that names the file at fault (the engine gives it as `file` when its message does not). */
function describePackFailure(error: unknown): string {
  const message = describe(error);
  const file =
    typeof error === 'object' && error !== null && 'file' in error ? (error as { file?: unknown }).file : undefined;
  return typeof file === 'string' && file && !message.includes(file) ? `${message} (in ${file})` : message;
}

/** The status line of a loaded pack. */
function readyStatus(pack: PackSummary): PackStatus {
  return { phase: 'ready', packId: pack.id, stage: null, loaded: pack.bytes, total: pack.bytes, message: '' };
}

export function createPackSlice(ctx: SliceContext): PackState & PackActions {
  const { set, get, env, notices, source } = ctx;
  let packLoadToken = 0;
  /** A link applied before its pack was loaded. */
  let pendingLink: PermalinkState | null = null;
  /** A link waiting for a pack the person has to open (see packNeeded). */
  let neededLink: PermalinkState | null = null;
  let keptStore: Promise<KeptPackStore | null> | null = null;
  const kept = () => (keptStore ??= (env.openKeptPacks?.() ?? Promise.resolve(null)).catch(() => null));

  /** Uses the link's image (or the current / default one) once the pack is known. */
  const settleLink = async (link: PermalinkState, pack: PackSummary) => {
    const check = checkPermalinkAgainstPack(link, {
      id: pack.id,
      digest: pack.digest,
      imageSize: pack.imageSize,
      classCount: pack.classNames.length,
    });
    for (const warning of check.warnings) notices.push('warnings', 'link', warning);
    for (const error of check.errors) notices.push('errors', 'link', error.message);
    if (check.errors.some((e) => e.field === 'class')) set({ classOverride: null });
    if (check.errors.some((e) => e.field === 'class2')) set({ classB: null });
    const imageUsable = link.imagePng && !check.errors.some((e) => e.field === 'img');
    if (imageUsable) {
      try {
        const prepared = await env.prepareFromPng(link.imagePng!, pack.imageSize);
        const mask = link.mask && link.mask.length === pack.imageSize ** 2 ? link.mask : null;
        await source.adoptSource(prepared, mask);
      } catch (error) {
        notices.push('errors', 'link', `This link's image could not be decoded: ${describe(error)}`);
        await source.useDefaultSource();
      }
    } else if (!get().source) {
      await source.useDefaultSource();
    } else {
      ctx.runs.run(false);
    }
  };

  const onPackLoaded = async (pack: PackSummary, fromCache: boolean) => {
    const s = get();
    const samePixels = s.pack?.imageSize === pack.imageSize;
    set({
      pack,
      packStatus: { ...readyStatus(pack), fromCache },
      classOverride: s.classOverride !== null && s.classOverride < pack.classNames.length ? s.classOverride : null,
      featuresId: null,
      prediction: null,
      grid: null,
      lag: null,
      mask: samePixels ? s.mask : null,
    });
    if (source.pendingBlob) {
      const { blob, name, notes } = source.pendingBlob;
      source.pendingBlob = null;
      await source.prepare(
        withNotes((size) => env.prepareFromBlob(blob, size, name), notes),
        `Could not open "${name}"`,
      );
    } else if (pendingLink) {
      const link = pendingLink;
      pendingLink = null;
      await settleLink(link, pack);
    } else if (s.source && samePixels) {
      await source.adoptSource(s.source, get().mask);
    } else if (s.source?.originalUrl) {
      const { originalUrl, name } = s.source;
      await source.prepare(
        (size) => env.prepareFromUrl(originalUrl, size, name),
        `Could not resize "${name}" for this pack`,
      );
    } else if (s.source) {
      // An image that came with a link has no original, only its model-size PNG: that is resized for this pack.
      const { png, name } = s.source;
      const blob = new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' });
      await source.prepare((size) => env.prepareFromBlob(blob, size, name), `Could not resize "${name}" for this pack`);
    } else {
      await source.useDefaultSource();
    }
    // While a link waits for its pack, the address keeps that link (a reload still asks for the pack).
    set({ shareReady: neededLink === null });
  };

  /** Tries the packs in order until one loads; a missing pack is skipped quietly, a broken one is reported. */
  const loadFirstAvailable = async (ids: string[]) => {
    const token = ++packLoadToken;
    // Notes about earlier loads go; those about packs skipped on the way to this one stay visible.
    notices.clear('pack');
    const failures: string[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      set({ packStatus: { phase: 'loading', packId: id, stage: 'manifest', loaded: 0, total: 0, message: '' } });
      try {
        const { pack, fromCache } = await env.engine.loadPack({ packUrl: env.packUrl(id) }, (progress) => {
          if (token !== packLoadToken) return;
          set({
            packStatus: {
              phase: 'loading',
              packId: id,
              stage: progress.stage,
              loaded: progress.loaded,
              total: progress.total,
              message: '',
            },
          });
        });
        if (token !== packLoadToken) return;
        set({ packOrigin: { kind: 'bundled', id } });
        await onPackLoaded(pack, fromCache);
        // A pack the index lists but the server does not have is worth a note (a link's unknown pack has its own).
        for (const note of missing) notices.push('warnings', 'pack', note);
        return;
      } catch (error) {
        if (token !== packLoadToken) return;
        if (isStoppedFailure(error)) return packLoadStopped(id);
        const reason = describePackFailure(error);
        failures.push(`${id}: ${reason}`);
        if (errorCode(error) !== 'pack-not-found')
          notices.push('errors', 'pack', `The model pack "${id}" is broken: ${reason}`);
        else if (get().packIndex?.packs.some((p) => p.id === id))
          missing.push(`The model pack "${id}" could not be found (${reason}); another pack is used.`);
      }
    }
    const message = ids.length
      ? `No model pack could be loaded (${failures.join('; ')}).`
      : 'No model pack is configured.';
    set({ packStatus: { phase: 'error', packId: null, stage: null, loaded: 0, total: 0, message }, shareReady: true });
    notices.push('errors', 'pack', message);
  };

  /** The status line of the pack in use (after a refused pack: the one that is still loaded). */
  const currentStatus = () => {
    const pack = get().pack;
    return pack
      ? readyStatus(pack)
      : {
          phase: 'error' as const,
          packId: null,
          stage: null,
          loaded: 0,
          total: 0,
          message: 'No model pack is loaded.',
        };
  };

  const refreshKept = async () => {
    const store = await kept();
    set({ keptPacks: store ? await store.list().catch(() => get().keptPacks) : get().keptPacks });
  };

  /** Loads a pack from its files; a refused one leaves the current pack loaded and working. */
  const loadOpened = async (files: PackFileSet, options: { keep: boolean }): Promise<PackSummary | null> => {
    const token = ++packLoadToken;
    notices.clear('pack');
    const label = files.label;
    set({ packStatus: { phase: 'loading', packId: label, stage: 'manifest', loaded: 0, total: 0, message: '' } });
    let pack: PackSummary;
    try {
      ({ pack } = await env.engine.loadPack({ packUrl: `opened:${label}`, files: files.files }, (progress) => {
        if (token !== packLoadToken) return;
        set({
          packStatus: {
            phase: 'loading',
            packId: label,
            stage: progress.stage,
            loaded: progress.loaded,
            total: progress.total,
            message: '',
          },
        });
      }));
    } catch (error) {
      if (token !== packLoadToken) return null;
      set({ packStatus: currentStatus() });
      const still = get().pack ? ` "${get().pack!.title}" is still loaded.` : '';
      notices.push('errors', 'pack', `The pack "${label}" was not opened: ${describePackFailure(error)}.${still}`);
      return null;
    }
    if (token !== packLoadToken) return null;
    if (neededLink && linkMatchesDigest(neededLink, pack.digest, pack.id)) {
      // The notes about running the link on another pack no longer apply.
      notices.clear('link');
      pendingLink = neededLink;
      neededLink = null;
      set({ packNeeded: null });
    }
    set({ packOrigin: { kind: 'opened', digest: pack.digest } });
    await onPackLoaded(pack, false);
    if (options.keep) await keep(pack, files);
    return pack;
  };

  const keep = async (pack: PackSummary, files: PackFileSet) => {
    const store = await kept();
    if (!store) {
      notices.push(
        'warnings',
        'pack',
        `"${pack.title}" is open, but this browser offers no storage to keep it: open it again after a reload.`,
      );
      return;
    }
    try {
      await store.put(keptInfoOf(pack, files.files, Date.now()), files.files);
      await env.askPersistentStorage?.();
    } catch (error) {
      notices.push(
        'warnings',
        'pack',
        `"${pack.title}" is open, but it could not be kept for the next visit (${describe(error)}).`,
      );
    }
    await refreshKept();
  };

  const openKept = async (digest: string): Promise<boolean> => {
    const info = get().keptPacks.find((p) => p.digest === digest);
    const store = await kept();
    const files = await store?.get(digest).catch(() => undefined);
    if (!files) {
      notices.push(
        'errors',
        'pack',
        `The kept pack "${info?.title ?? digest.slice(0, 12)}" is no longer stored here; open its folder or zip again.`,
      );
      await refreshKept();
      return false;
    }
    return (await loadOpened({ label: info?.title ?? digest.slice(0, 12), files }, { keep: false })) !== null;
  };

  /** Keeps a link until its pack is opened, when neither the bundled nor the kept packs have it; the address keeps
   * the link meanwhile, so that a reload still asks for the pack. */
  const awaitNeededPack = (link: PermalinkState) => {
    const needed = packNeededFor(link, get().packIndex, get().keptPacks);
    if (!needed) return;
    neededLink = link;
    set({ packNeeded: needed, shareReady: false });
  };

  /** A stopped load leaves the previous pack in use, or, when there is none, a state that offers to load again. */
  const packLoadStopped = (id: string) => {
    const pack = get().pack;
    if (pack) {
      set({ packStatus: readyStatus(pack) });
      notices.push('warnings', 'pack', `Loading the model pack "${id}" was stopped; "${pack.title}" stays in use.`);
    } else {
      set({
        packStatus: { phase: 'error', packId: id, stage: null, loaded: 0, total: 0, message: 'Loading was stopped.' },
        shareReady: true,
      });
    }
  };

  const onEngineEvent = (event: EngineEvent) => {
    switch (event.type) {
      case 'ready':
        set({
          backend: {
            ...get().backend,
            active: event.backend,
            detail:
              event.reason && event.fellBackFrom
                ? `${event.detail} (not ${event.fellBackFrom}: ${event.reason})`
                : event.detail,
          },
        });
        // Automatic choice falling back is expected; a forced backend that could not start is worth a note.
        if (event.fellBackFrom && get().backend.requested !== 'auto') {
          notices.push(
            'warnings',
            'backend',
            `${event.fellBackFrom} is not available here${event.reason ? ` (${event.reason})` : ''}; running on ${event.backend}.`,
          );
        }
        return;
      case 'backendChanged':
        set({ backend: { ...get().backend, active: event.backend, detail: event.reason } });
        notices.push('warnings', 'backend', `Switched to ${event.backend}: ${event.reason}`);
        return;
      case 'error':
        if (event.code === 'device-lost') notices.push('errors', 'backend', `The GPU was lost: ${event.message}`);
        else notices.push('errors', 'engine', event.message);
        return;
      case 'restarting':
        notices.push('warnings', 'engine', `The engine crashed (${event.reason}) and is restarting.`);
        return;
      case 'restarted':
        ctx.runs.run(true);
        return;
      case 'gaveUp':
        notices.push(
          'errors',
          'engine',
          `The engine keeps crashing (${event.reason}). Reload the page, or try another backend.`,
        );
        return;
    }
  };

  return {
    packIndex: null,
    packStatus: { phase: 'idle', packId: null, stage: null, loaded: 0, total: 0, message: '' },
    pack: null,
    backend: { requested: 'auto', active: null, detail: '' },
    shareReady: false,
    keptPacks: [],
    packOrigin: null,
    packNeeded: null,

    async startup({ backend, link }) {
      set({ backend: { requested: backend, active: null, detail: '' } });
      env.engine.subscribe(onEngineEvent);
      env.engine.start(backend);
      let index: PackIndex | null = null;
      try {
        index = parsePackIndex(await env.fetchPackIndex());
      } catch {
        index = null; // no index yet: the fallback ids are tried
      }
      set({ packIndex: index });
      await refreshKept();
      if (link) {
        set(settingsOfLink(link));
        pendingLink = link;
        const keptMatch = keptPackForLink(link, get().keptPacks);
        if (keptMatch && (await openKept(keptMatch.digest))) return;
        // Meanwhile the link runs on the default pack (with a note that its pack is not here), and is applied again
        // once its pack is opened.
        awaitNeededPack(link);
      }
      await loadFirstAvailable(packCandidates(pendingLink?.packId ?? null, index));
    },

    async applyLink(link) {
      notices.clear('link');
      set(settingsOfLink(link));
      const pack = get().pack;
      neededLink = null;
      set({ packNeeded: null });
      const keptMatch =
        pack && !linkMatchesDigest(link, pack.digest, pack.id) ? keptPackForLink(link, get().keptPacks) : undefined;
      if (keptMatch) {
        pendingLink = link;
        if (await openKept(keptMatch.digest)) return;
        pendingLink = null;
      }
      if (pack && link.packId !== pack.id) awaitNeededPack(link);
      if (pack && link.packId !== pack.id && get().packIndex?.packs.some((p) => p.id === link.packId)) {
        pendingLink = link;
        await loadFirstAvailable(packCandidates(link.packId, get().packIndex));
      } else if (pack) {
        await settleLink(link, pack);
      } else {
        pendingLink = link;
      }
    },

    async loadPack(id) {
      if (get().packOrigin?.kind === 'bundled' && get().pack?.id === id && get().packStatus.phase === 'ready') return;
      await loadFirstAvailable([id]);
    },

    async openPackFiles(files) {
      return (await loadOpened(files, { keep: true })) !== null;
    },

    openKeptPack: openKept,

    async removeKeptPack(digest) {
      const store = await kept();
      try {
        await store?.remove(digest);
      } catch (error) {
        notices.push('errors', 'pack', `The kept pack could not be removed: ${describe(error)}`);
      }
      await refreshKept();
    },

    dismissPackNeeded() {
      neededLink = null;
      set({ packNeeded: null, shareReady: get().packStatus.phase !== 'loading' });
    },
  };
}
