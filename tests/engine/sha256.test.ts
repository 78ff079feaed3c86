import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { packDigest, sha256Hex, sha256HexSync } from '../../src/engine/sha256';

const nodeSha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('sha256', () => {
  it('plain-JS fallback matches node:crypto at padding boundaries and on large inputs', () => {
    for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 1000, 100_003]) {
      const data = new Uint8Array(randomBytes(length));
      expect(sha256HexSync(data), `length ${length}`).toBe(nodeSha256(data));
    }
    expect(sha256HexSync(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('WebCrypto path matches too, including for views into larger buffers', async () => {
    const big = new Uint8Array(randomBytes(5000));
    const view = big.subarray(17, 4000);
    expect(await sha256Hex(view)).toBe(nodeSha256(view));
  });

  it('computes the pack digest as export.py does (sorted "<file> <sha256>\\n" lines)', async () => {
    const shards = { 'sp.shard1of1.bin': { sha256: 'b'.repeat(64) }, 'lag.shard1of1.bin': { sha256: 'a'.repeat(64) } };
    const text = `lag.shard1of1.bin ${'a'.repeat(64)}\nsp.shard1of1.bin ${'b'.repeat(64)}\n`;
    expect(await packDigest(shards)).toBe(nodeSha256(new TextEncoder().encode(text)));
  });
});
