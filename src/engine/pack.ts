// Loading a pack (docs/pack-format.md): pack.json -> validated manifest and architecture -> shards fetched with
// byte progress (or read from the PackStore) -> sha256 verified -> float16 decoded -> weights checked against the
// shapes the architecture requires. Every failure is an EngineError with a protocol code and the file at fault.
import { CancelledError, EngineError, describeError } from './errors';
import { decodeFloat16 } from './float16';
import {
  MANIFEST_FILE,
  MODEL_KEYS,
  bytesPerElement,
  checkWeightsManifest,
  mib,
  packFormatError,
  summarizePack,
  validateManifest,
  type PackArchitecture,
  type PackManifest,
} from './packManifest';
import { MAX_MANIFEST_BYTES } from './packLimits';
import type { PackStore } from './packStore';
import type { LoadStage, PackSummary } from './protocol';
import { packDigest, sha256Hex } from './sha256';

export interface DecodedWeight {
  shape: number[];
  values: Float32Array;
}

export interface LoadedPack {
  manifest: PackManifest;
  arch: PackArchitecture;
  weights: Map<string, DecodedWeight>;
  summary: PackSummary;
  /** True when every shard came from the PackStore rather than the network. */
  fromCache: boolean;
}

type PackProgressStage = Exclude<LoadStage, 'upload' | 'warmup'>;
type PackProgress = (stage: PackProgressStage, loaded: number, total: number) => void;

/** What to load and how: the engine passes it through unchanged. */
export interface LoadPackRequest {
  /** The URL of pack.json, absolute or relative to `baseUrl`. */
  packUrl: string;
  /** Base for a relative packUrl (the page URL; a worker's own location is not the page's). */
  baseUrl?: string;
  fetch?: typeof fetch;
  store?: PackStore | null;
  /** The loader reports the manifest, shards and decode stages; the engine adds upload and warm-up. */
  onProgress?: (stage: LoadStage, loaded: number, total: number) => void;
  /** Stops the load: the shard fetches are aborted and the load rejects with a CancelledError. */
  signal?: AbortSignal;
}

function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('pack load stopped');
}

/** Thrown by readBodyCapped when a body runs past its cap; the caller turns it into its own message. */
class BodyTooLarge extends Error {}

/**
 * Reads a response body as a stream and stops (cancelling the rest) as soon as it passes `cap` bytes, so an oversized
 * or endless body is never held in memory. A Content-Length above the cap is refused before reading anything.
 */
async function readBodyCapped(
  response: Response,
  cap: number,
  onBytes: (n: number) => void = () => {},
): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > cap) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyTooLarge();
  }
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > cap) throw new BodyTooLarge();
    onBytes(bytes.byteLength);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > cap) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge();
    }
    chunks.push(value);
    onBytes(value.byteLength);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const MANIFEST_TOO_LARGE = `pack.json is larger than ${mib(MAX_MANIFEST_BYTES)}, the most a pack manifest may be; it was not read further`;

async function readManifestText(response: Response): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readBodyCapped(response, MAX_MANIFEST_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLarge) throw packFormatError(MANIFEST_TOO_LARGE);
    throw new EngineError('pack-not-found', `pack.json could not be read: ${describeError(error)}`, MANIFEST_FILE);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw packFormatError('pack.json is not UTF-8 text');
  }
}

async function fetchManifest(
  url: string,
  fetchFn: typeof fetch,
  store: PackStore | null,
): Promise<{ text: string; offline: boolean }> {
  let response: Response;
  try {
    response = await fetchFn(url, { cache: 'no-cache' });
  } catch (error) {
    const cached = await store?.getManifest(url).catch(() => undefined);
    if (cached !== undefined) return { text: cached, offline: true };
    throw new EngineError('pack-not-found', `could not fetch ${url}: ${describeError(error)}`, MANIFEST_FILE);
  }
  if (!response.ok) {
    if (response.status >= 500 || response.status === 0) {
      const cached = await store?.getManifest(url).catch(() => undefined);
      if (cached !== undefined) return { text: cached, offline: true };
    }
    throw new EngineError('pack-not-found', `${url} answered HTTP ${response.status}`, MANIFEST_FILE);
  }
  return { text: await readManifestText(response), offline: false };
}

/** Loads, verifies and decodes a pack. `packUrl` is the URL of pack.json. */
export async function loadPack(request: LoadPackRequest): Promise<LoadedPack> {
  const fetchFn = request.fetch ?? globalThis.fetch.bind(globalThis);
  const store = request.store ?? null;
  const progress: PackProgress = request.onProgress ?? (() => {});
  const manifestUrl = new URL(request.packUrl, request.baseUrl ?? globalThis.location?.href).href;
  const { signal } = request;

  progress('manifest', 0, 1);
  const { text, offline } = await fetchManifest(manifestUrl, fetchFn, store);
  if (text.length > MAX_MANIFEST_BYTES) throw packFormatError(MANIFEST_TOO_LARGE);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw packFormatError(`pack.json is not valid JSON: ${describeError(error)}`);
  }
  const { manifest, arch } = validateManifest(json);
  if ((await packDigest(manifest.shards)) !== manifest.digest) {
    throw packFormatError('pack.json digest does not match its shards list (the manifest was edited by hand?)');
  }
  checkWeightsManifest(manifest, arch);
  progress('manifest', 1, 1);

  // Download (or read from the store) every shard referenced by the models, with byte progress.
  const files = [...new Set(MODEL_KEYS.flatMap((key) => manifest.models[key].weightsManifest.flatMap((g) => g.paths)))];
  const totalBytes = files.reduce((sum, file) => sum + manifest.shards[file].bytes, 0);
  let loadedBytes = 0;
  progress('download', 0, totalBytes);
  const contents = new Map<string, Uint8Array>();
  const fetchedFromNetwork = new Set<string>();
  for (const file of files) {
    throwIfStopped(signal);
    const expected = manifest.shards[file];
    const cached = await store?.getShard(manifest.id, manifest.digest, file).catch(() => undefined);
    if (cached && cached.byteLength === expected.bytes && (await sha256Hex(cached)) === expected.sha256) {
      contents.set(file, cached);
      loadedBytes += cached.byteLength;
      progress('download', loadedBytes, totalBytes);
      continue;
    }
    if (cached) await store?.deleteShard(manifest.id, manifest.digest, file).catch(() => undefined);
    const url = new URL(file, manifestUrl).href;
    let response: Response;
    try {
      response = await fetchFn(url, signal ? { signal } : undefined);
    } catch (error) {
      throwIfStopped(signal);
      const hint = offline ? ' (offline, and this shard is not in the cache)' : '';
      throw new EngineError(
        'pack-shard-missing',
        `could not fetch shard ${file}${hint}: ${describeError(error)}`,
        file,
      );
    }
    if (!response.ok) {
      throw new EngineError('pack-shard-missing', `shard ${file} answered HTTP ${response.status}`, file);
    }
    let bytes: Uint8Array;
    try {
      // Never more than pack.json says: a longer body is cut off at once, not buffered and then measured.
      bytes = await readBodyCapped(response, expected.bytes, (n) => {
        loadedBytes += n;
        progress('download', Math.min(loadedBytes, totalBytes), totalBytes);
      });
    } catch (error) {
      throwIfStopped(signal);
      if (!(error instanceof BodyTooLarge)) {
        throw new EngineError('pack-shard-missing', `shard ${file} could not be read: ${describeError(error)}`, file);
      }
      throw new EngineError(
        'pack-checksum',
        `shard ${file} is larger than the ${expected.bytes} bytes pack.json says; it was not read further`,
        file,
      );
    }
    contents.set(file, bytes);
    fetchedFromNetwork.add(file);
  }

  throwIfStopped(signal);
  progress('verify', 0, fetchedFromNetwork.size);
  let verified = 0;
  for (const file of fetchedFromNetwork) {
    const bytes = contents.get(file)!;
    const expected = manifest.shards[file];
    if (bytes.byteLength !== expected.bytes) {
      throw new EngineError(
        'pack-checksum',
        `shard ${file} has ${bytes.byteLength} bytes; pack.json says ${expected.bytes}`,
        file,
      );
    }
    const actual = await sha256Hex(bytes);
    if (actual !== expected.sha256) {
      throw new EngineError(
        'pack-checksum',
        `shard ${file} is corrupted: sha256 ${actual}, pack.json says ${expected.sha256}`,
        file,
      );
    }
    progress('verify', ++verified, fetchedFromNetwork.size);
  }

  throwIfStopped(signal);
  const weights = decodeWeights(manifest, contents, progress);

  if (store) {
    // Best effort: a full quota or a private mode must not fail a load that has succeeded.
    try {
      for (const file of fetchedFromNetwork)
        await store.putShard(manifest.id, manifest.digest, file, contents.get(file)!);
      await store.putManifest(manifestUrl, text);
      await store.pruneOtherDigests(manifest.id, manifest.digest);
    } catch {
      /* cache writes are an optimisation */
    }
  }
  return {
    manifest,
    arch,
    weights,
    summary: summarizePack(manifest, arch),
    fromCache: fetchedFromNetwork.size === 0,
  };
}

function decodeWeights(
  manifest: PackManifest,
  contents: Map<string, Uint8Array>,
  progress: PackProgress,
): Map<string, DecodedWeight> {
  const weights = new Map<string, DecodedWeight>();
  const total = MODEL_KEYS.reduce(
    (n, key) => n + manifest.models[key].weightsManifest.reduce((m, g) => m + g.weights.length, 0),
    0,
  );
  progress('decode', 0, total);
  for (const key of MODEL_KEYS) {
    for (const group of manifest.models[key].weightsManifest) {
      // TF.js layout: a group's shards are one byte stream holding its weights back to back.
      const parts = group.paths.map((path) => contents.get(path)!);
      const stream = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let at = 0;
      for (const part of parts) {
        stream.set(part, at);
        at += part.byteLength;
      }
      let offset = 0;
      for (const weight of group.weights) {
        const count = weight.shape.reduce((a, b) => a * b, 1);
        let values: Float32Array;
        const q = weight.quantization;
        if (q?.dtype === 'float16') {
          values = decodeFloat16(stream, offset, count);
        } else if (q?.dtype === 'uint8') {
          values = new Float32Array(count);
          for (let i = 0; i < count; i++) values[i] = q.min + q.scale * stream[offset + i];
        } else {
          values = new Float32Array(count);
          new Uint8Array(values.buffer).set(stream.subarray(offset, offset + count * 4));
        }
        offset += count * bytesPerElement(weight);
        weights.set(weight.name, { shape: [...weight.shape], values });
        progress('decode', weights.size, total);
      }
    }
  }
  return weights;
}
