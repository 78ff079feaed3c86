// What the results are measured on: the CPU model, and the default pack's size on the wire (raw, gzip, brotli).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants as zlibConstants } from 'node:zlib';
import { packDir } from './options.mjs';

export function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line ? line.split(':')[1].trim() : cpus()[0]?.model;
  } catch {
    return cpus()[0]?.model;
  }
}

export function packWireSize() {
  const pack = JSON.parse(readFileSync(join(packDir, 'pack.json'), 'utf8'));
  const files = ['pack.json', ...Object.keys(pack.shards)];
  let raw = 0;
  let gzip = 0;
  let brotli = 0;
  for (const file of files) {
    const bytes = readFileSync(join(packDir, file));
    raw += bytes.byteLength;
    gzip += gzipSync(bytes, { level: 9 }).byteLength;
    brotli += brotliCompressSync(bytes, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength;
  }
  return { files, rawBytes: raw, gzipBytes: gzip, brotliBytes: brotli, shardBytes: pack.shards, digest: pack.digest };
}
