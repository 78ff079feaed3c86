// Serves a pack that arrived as files (a folder or a zip the person opened) to the pack loader, which reads packs
// through `fetch`: the loader then runs every check it runs on a bundled pack (sha256 of each shard, the digest,
// the weights against the architecture) on these bytes, with the same messages.

/** The URL the loader is given for a pack from files; it never reaches the network. */
export const FILES_PACK_URL = 'https://opened-pack.invalid/pack.json';

/** A fetch over the files (names relative to pack.json's folder); a name that is not there answers 404. */
export function filesFetch(files: Record<string, Uint8Array>): typeof fetch {
  const root = new URL('./', FILES_PACK_URL).href;
  return async (input: RequestInfo | URL) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const name = url.startsWith(root) ? decodeURIComponent(url.slice(root.length)) : null;
    const bytes = name !== null && Object.hasOwn(files, name) ? files[name] : undefined;
    if (!bytes) return new Response(null, { status: 404, statusText: 'not among the opened files' });
    // A copy: the loader keeps (and may transfer) what it reads; the caller's files stay intact for keeping.
    return new Response(bytes.slice().buffer, { status: 200 });
  };
}
