// Loading a pack (docs/pack-format.md): pack.json -> validated manifest and architecture -> shards fetched with
// byte progress (or read from the PackStore) -> sha256 verified -> float16 decoded -> weights checked against the
// shapes the architecture requires. Every failure is an EngineError with a protocol code and the file at fault.
import { CancelledError, EngineError, describeError } from './errors';
import { decodeFloat16 } from './float16';
import { parseLagArch, lagWeightShapes, type LagArch } from './lag';
import { FC7_LEVEL, FC8_LEVEL, LEVELS, LEVEL_NAMES, levelSize } from './levels';
import type { WeightShape } from './ops';
import type { PackStore } from './packStore';
import { packSchemaProblem } from './packSchema';
import type { LevelInfo, LoadStage, PackSummary } from './protocol';
import { packDigest, sha256Hex } from './sha256';
import { parseSpArch, spWeightShapes, type SpArch } from './sp';
import { parseVggArch, vggWeightShapes, type VggArch } from './vgg';

export const PACK_FORMAT = 'pyramid-pack';
export const PACK_FORMAT_VERSION = 1;
export const MODEL_KEYS = ['vgg', 'sp', 'lag'] as const;
export type ModelKey = (typeof MODEL_KEYS)[number];

export interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: 'float32';
  /** float16: 2 bytes a value; uint8: 1 byte, value = min + scale * q (TF.js's affine quantization). */
  quantization?: { dtype: 'float16' } | { dtype: 'uint8'; min: number; scale: number };
}

export interface WeightsManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

export interface PackManifest {
  format: string;
  formatVersion: number;
  id: string;
  title: string;
  preview: boolean;
  imageSize: number;
  classNames: string[];
  levels: LevelInfo[];
  models: Record<ModelKey, { arch: Record<string, unknown>; weightsManifest: WeightsManifestGroup[] }>;
  shards: Record<string, { bytes: number; sha256: string }>;
  digest: string;
  provenance: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

export interface PackArchitecture {
  vgg: VggArch;
  sp: SpArch;
  lag: LagArch;
}

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

export type PackProgressStage = Exclude<LoadStage, 'upload' | 'warmup'>;
export type PackProgress = (stage: PackProgressStage, loaded: number, total: number) => void;

export interface LoadPackOptions {
  fetch?: typeof fetch;
  store?: PackStore | null;
  onProgress?: PackProgress;
  /** Base for a relative packUrl (the page URL; a worker's own location is not the page's). */
  baseUrl?: string;
  /** Stops the load: the shard fetches are aborted and the load rejects with a CancelledError. */
  signal?: AbortSignal;
}

function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('pack load stopped');
}

const MANIFEST_FILE = 'pack.json';

/** pack.json is read as a stream and refused past this size (the committed packs' are under 64 KB). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** All shards together; the schema bounds each shard (4 MiB) and their count (64). */
export const MAX_PACK_BYTES = 200 * 1024 * 1024;

function formatError(message: string, file = MANIFEST_FILE): EngineError {
  return new EngineError('pack-format', message, file);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function mib(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
}

/**
 * Checks pack.json against docs/pack.schema.json (types and bounds, through the generated validator), then the rules
 * between fields that a schema cannot state; returns the parsed architecture.
 */
export function validateManifest(json: unknown): { manifest: PackManifest; arch: PackArchitecture } {
  // The version gate comes first: a manifest of another version is not judged by this version's schema.
  const top =
    json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  if (top.format !== undefined && top.format !== PACK_FORMAT) {
    throw formatError(`pack.json format is ${JSON.stringify(top.format)}, expected "${PACK_FORMAT}"`);
  }
  if (top.formatVersion !== undefined && top.formatVersion !== PACK_FORMAT_VERSION) {
    throw formatError(
      `pack.json has formatVersion ${JSON.stringify(top.formatVersion)}; this app reads version ${PACK_FORMAT_VERSION}. ` +
        'Re-export the pack with a matching scripts/export.py or update the app.',
    );
  }
  const problem = packSchemaProblem(json);
  if (problem !== null) throw formatError(problem);
  const manifest = json as PackManifest;
  const { imageSize } = manifest;
  const levels = validateLevels(manifest.levels, imageSize);
  const totalBytes = Object.values(manifest.shards).reduce((sum, s) => sum + s.bytes, 0);
  if (totalBytes > MAX_PACK_BYTES) {
    throw formatError(`pack.json lists ${mib(totalBytes)} of shards; a pack may hold at most ${mib(MAX_PACK_BYTES)}`);
  }

  const vgg = parseVggArch(manifest.models.vgg.arch);
  if (vgg.imageSize !== imageSize)
    throw formatError(`models.vgg.arch.imageSize ${vgg.imageSize} != imageSize ${imageSize}`);
  if (vgg.numClasses !== manifest.classNames.length) {
    throw formatError(`models.vgg.arch.numClasses ${vgg.numClasses} != ${manifest.classNames.length} classNames`);
  }
  vgg.widths.forEach((width, b) => {
    if (levels[b].channels !== width)
      throw formatError(`level ${levels[b].name} has ${levels[b].channels} channels, VGG block ${b + 1} has ${width}`);
  });
  const [fc7, fc8] = [levels[FC7_LEVEL], levels[FC8_LEVEL]];
  if (fc7.channels !== vgg.fcWidth)
    throw formatError(`level fc7 has ${fc7.channels} channels, VGG fcWidth is ${vgg.fcWidth}`);
  if (fc8.channels !== vgg.numClasses)
    throw formatError(`level fc8 has ${fc8.channels} channels, VGG has ${vgg.numClasses} classes`);
  const sp = parseSpArch(manifest.models.sp.arch, levels, imageSize);
  if (sp.numClasses !== vgg.numClasses)
    throw formatError(`models.sp.arch.numClasses ${sp.numClasses} != ${vgg.numClasses}`);
  const lag = parseLagArch(manifest.models.lag.arch, imageSize);
  return { manifest: { ...manifest, levels }, arch: { vgg, sp, lag } };
}

/** The schema has checked each level's fields; here each must sit at its place with the stride and size of imageSize. */
function validateLevels(value: LevelInfo[], imageSize: number): LevelInfo[] {
  return value.map((level, index) => {
    if (level.index !== index || level.name !== LEVEL_NAMES[index]) {
      throw formatError(`pack.json levels[${index}] must be { index: ${index}, name: "${LEVEL_NAMES[index]}" }`);
    }
    const { stride } = LEVELS[index];
    const size = levelSize(LEVELS[index], imageSize);
    if (level.stride !== stride || level.size !== size) {
      throw formatError(
        `pack.json levels[${index}] (${LEVEL_NAMES[index]}) must have stride ${stride} and size ${size} for imageSize ${imageSize}`,
      );
    }
    return { index, name: LEVEL_NAMES[index], stride, channels: level.channels, size };
  });
}

/** The weights each model's architecture requires, by model. */
export function requiredWeightShapes(manifest: PackManifest, arch: PackArchitecture): Record<ModelKey, WeightShape[]> {
  return {
    vgg: vggWeightShapes(arch.vgg),
    sp: spWeightShapes(arch.sp, manifest.levels),
    lag: lagWeightShapes(arch.lag),
  };
}

function bytesPerElement(weight: ManifestWeight): number {
  const dtype = weight.quantization?.dtype;
  return dtype === 'float16' ? 2 : dtype === 'uint8' ? 1 : 4;
}

/**
 * Checks the weights manifests (whose entries the schema has checked) before any download: every weight the architecture needs is present with its exact
 * shape (code pack-shape, naming the weight), nothing unexpected is listed, and the byte counts add up.
 */
export function checkWeightsManifest(manifest: PackManifest, arch: PackArchitecture): void {
  const required = requiredWeightShapes(manifest, arch);
  for (const key of MODEL_KEYS) {
    const listed = new Map<string, ManifestWeight>();
    for (const group of manifest.models[key].weightsManifest) {
      let groupBytes = 0;
      for (const weight of group.weights) {
        if (listed.has(weight.name)) throw formatError(`weight ${weight.name} is listed twice`);
        listed.set(weight.name, weight);
        groupBytes += weight.shape.reduce((a, b) => a * b, 1) * bytesPerElement(weight);
      }
      let shardBytes = 0;
      for (const path of group.paths) {
        const shard = manifest.shards[path];
        if (!shard) throw formatError(`models.${key} refers to shard ${path}, which is not listed in "shards"`);
        shardBytes += shard.bytes;
      }
      if (shardBytes !== groupBytes) {
        throw formatError(
          `models.${key}: shards ${group.paths.join(', ')} hold ${shardBytes} bytes, the weights need ${groupBytes}`,
        );
      }
    }
    for (const { name, shape } of required[key]) {
      const weight = listed.get(name);
      if (!weight) {
        throw new EngineError(
          'pack-shape',
          `weight ${name} is missing; the ${key} architecture needs it with shape ${shapeText(shape)}`,
          MANIFEST_FILE,
        );
      }
      if (weight.shape.length !== shape.length || weight.shape.some((d, i) => d !== shape[i])) {
        throw new EngineError(
          'pack-shape',
          `weight ${name} has shape ${shapeText(weight.shape)}; the ${key} architecture needs ${shapeText(shape)}`,
          MANIFEST_FILE,
        );
      }
      listed.delete(name);
    }
    for (const name of listed.keys()) {
      throw new EngineError(
        'pack-shape',
        `weight ${name} is not part of the ${key} architecture described in pack.json`,
        MANIFEST_FILE,
      );
    }
  }
}

export function summarizePack(manifest: PackManifest, arch: PackArchitecture): PackSummary {
  return {
    id: manifest.id,
    title: manifest.title,
    preview: manifest.preview,
    digest: manifest.digest,
    imageSize: manifest.imageSize,
    classNames: [...manifest.classNames],
    levels: manifest.levels.map((l) => ({ ...l })),
    lag: { scale: arch.lag.scale, lrSize: arch.lag.lrSize, noiseChannels: arch.lag.noiseChannels },
    spZDim: arch.sp.zDim,
    bytes: Object.values(manifest.shards).reduce((sum, s) => sum + s.bytes, 0),
    metrics: manifest.metrics,
    provenance: manifest.provenance,
  };
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
    if (error instanceof BodyTooLarge) throw formatError(MANIFEST_TOO_LARGE);
    throw new EngineError('pack-not-found', `pack.json could not be read: ${describeError(error)}`, MANIFEST_FILE);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw formatError('pack.json is not UTF-8 text');
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
export async function loadPack(packUrl: string, options: LoadPackOptions = {}): Promise<LoadedPack> {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const store = options.store ?? null;
  const progress: PackProgress = options.onProgress ?? (() => {});
  const manifestUrl = new URL(packUrl, options.baseUrl ?? globalThis.location?.href).href;
  const { signal } = options;

  progress('manifest', 0, 1);
  const { text, offline } = await fetchManifest(manifestUrl, fetchFn, store);
  if (text.length > MAX_MANIFEST_BYTES) throw formatError(MANIFEST_TOO_LARGE);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw formatError(`pack.json is not valid JSON: ${describeError(error)}`);
  }
  const { manifest, arch } = validateManifest(json);
  if ((await packDigest(manifest.shards)) !== manifest.digest) {
    throw formatError('pack.json digest does not match its shards list (the manifest was edited by hand?)');
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
