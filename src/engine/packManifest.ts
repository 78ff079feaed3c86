// What a pack is (docs/pack-format.md) and whether a pack.json is one: the manifest's types, its validation against
// the schema and the architectures, the weights each architecture requires, and the caps every pack is held to.
// Every failure is an EngineError with code pack-format and the file at fault.
import { EngineError } from './errors';
import { MAX_PACK_BYTES } from './packLimits';
import { parseLagArch, lagWeightShapes, type LagArch } from './lag';
import { FC7_LEVEL, FC8_LEVEL, LEVELS, LEVEL_NAMES, levelSize } from './levels';
import type { WeightShape } from './ops';
import { packSchemaProblem } from './packSchema';
import type { LevelInfo, PackSummary } from './protocol';
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

export const MANIFEST_FILE = 'pack.json';

export function packFormatError(message: string, file = MANIFEST_FILE): EngineError {
  return new EngineError('pack-format', message, file);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function mib(bytes: number): string {
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
    throw packFormatError(`pack.json format is ${JSON.stringify(top.format)}, expected "${PACK_FORMAT}"`);
  }
  if (top.formatVersion !== undefined && top.formatVersion !== PACK_FORMAT_VERSION) {
    throw packFormatError(
      `pack.json has formatVersion ${JSON.stringify(top.formatVersion)}; this app reads version ${PACK_FORMAT_VERSION}. ` +
        'Re-export the pack with a matching scripts/export.py or update the app.',
    );
  }
  const problem = packSchemaProblem(json);
  if (problem !== null) throw packFormatError(problem);
  const manifest = json as PackManifest;
  const { imageSize } = manifest;
  const levels = validateLevels(manifest.levels, imageSize);
  const totalBytes = Object.values(manifest.shards).reduce((sum, s) => sum + s.bytes, 0);
  if (totalBytes > MAX_PACK_BYTES) {
    throw packFormatError(
      `pack.json lists ${mib(totalBytes)} of shards; a pack may hold at most ${mib(MAX_PACK_BYTES)}`,
    );
  }

  const vgg = parseVggArch(manifest.models.vgg.arch);
  if (vgg.imageSize !== imageSize)
    throw packFormatError(`models.vgg.arch.imageSize ${vgg.imageSize} != imageSize ${imageSize}`);
  if (vgg.numClasses !== manifest.classNames.length) {
    throw packFormatError(`models.vgg.arch.numClasses ${vgg.numClasses} != ${manifest.classNames.length} classNames`);
  }
  vgg.widths.forEach((width, b) => {
    if (levels[b].channels !== width)
      throw packFormatError(
        `level ${levels[b].name} has ${levels[b].channels} channels, VGG block ${b + 1} has ${width}`,
      );
  });
  const [fc7, fc8] = [levels[FC7_LEVEL], levels[FC8_LEVEL]];
  if (fc7.channels !== vgg.fcWidth)
    throw packFormatError(`level fc7 has ${fc7.channels} channels, VGG fcWidth is ${vgg.fcWidth}`);
  if (fc8.channels !== vgg.numClasses)
    throw packFormatError(`level fc8 has ${fc8.channels} channels, VGG has ${vgg.numClasses} classes`);
  const sp = parseSpArch(manifest.models.sp.arch, levels, imageSize);
  if (sp.numClasses !== vgg.numClasses)
    throw packFormatError(`models.sp.arch.numClasses ${sp.numClasses} != ${vgg.numClasses}`);
  const lag = parseLagArch(manifest.models.lag.arch, imageSize);
  return { manifest: { ...manifest, levels }, arch: { vgg, sp, lag } };
}

/** The schema has checked each level's fields; here each must sit at its place with the stride and size of imageSize. */
function validateLevels(value: LevelInfo[], imageSize: number): LevelInfo[] {
  return value.map((level, index) => {
    if (level.index !== index || level.name !== LEVEL_NAMES[index]) {
      throw packFormatError(`pack.json levels[${index}] must be { index: ${index}, name: "${LEVEL_NAMES[index]}" }`);
    }
    const { stride } = LEVELS[index];
    const size = levelSize(LEVELS[index], imageSize);
    if (level.stride !== stride || level.size !== size) {
      throw packFormatError(
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

export function bytesPerElement(weight: ManifestWeight): number {
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
        if (listed.has(weight.name)) throw packFormatError(`weight ${weight.name} is listed twice`);
        listed.set(weight.name, weight);
        groupBytes += weight.shape.reduce((a, b) => a * b, 1) * bytesPerElement(weight);
      }
      let shardBytes = 0;
      for (const path of group.paths) {
        const shard = manifest.shards[path];
        if (!shard) throw packFormatError(`models.${key} refers to shard ${path}, which is not listed in "shards"`);
        shardBytes += shard.bytes;
      }
      if (shardBytes !== groupBytes) {
        throw packFormatError(
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
