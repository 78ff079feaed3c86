// The engine client with packs opened from files: the files go to the worker with the load, a crashed worker gets
// them again, and after a refused load a crash replays the pack the worker really holds.
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors';
import type { PackSummary, RgbaImage } from '../../src/engine/protocol';
import { EngineClient } from '../../src/state/engineClient';
import { FakeWorker, flush } from './helpers/fakeWorker';

const pack = { id: 'mine', digest: 'cd', imageSize: 64 } as PackSummary;
const image: RgbaImage = { width: 2, height: 2, data: new Uint8ClampedArray(16) };

function setup() {
  const workers: FakeWorker[] = [];
  const client = new EngineClient(() => {
    const worker = new FakeWorker();
    workers.push(worker);
    return worker;
  });
  client.start('cpu');
  return { client, worker: () => workers[workers.length - 1], workers };
}

describe('EngineClient with opened packs', () => {
  it('sends the files with the load and sends them again to a restarted worker', async () => {
    const { client, worker } = setup();
    const files = { 'pack.json': new Uint8Array([1]), 'a.bin': new Uint8Array([2, 3]) };
    const loading = client.loadPack({ packUrl: 'opened:mine', files });
    const sent = worker().last('loadPack');
    expect(sent).toMatchObject({ packUrl: 'opened:mine', files });
    worker().reply({ type: 'packLoaded', requestId: sent.requestId, pack, fromCache: false });
    await loading;

    worker().crash('gone');
    const replay = worker().last('loadPack');
    expect(replay).toMatchObject({ packUrl: 'opened:mine', files });
  });

  it('after a refused load, a restart replays the pack and features that are really loaded', async () => {
    const { client, worker } = setup();
    const first = client.loadPack({ packUrl: 'models/tiny/pack.json' });
    worker().reply({ type: 'packLoaded', requestId: worker().last('loadPack').requestId, pack, fromCache: false });
    await first;
    const extracting = client.extract(image);
    const extract = worker().last('extract');
    worker().reply({
      type: 'extracted',
      requestId: extract.requestId,
      featuresId: extract.featuresId,
      probabilities: [1],
    });
    await extracting;

    const refused = client.loadPack({ packUrl: 'opened:broken', files: { 'pack.json': new Uint8Array([0]) } });
    worker().reply({
      type: 'error',
      requestId: worker().last('loadPack').requestId,
      code: 'pack-checksum',
      message: 'shard x is corrupted',
    });
    await expect(refused).rejects.toBeInstanceOf(EngineError);

    worker().crash('gone');
    await flush();
    const replay = worker().last('loadPack');
    expect(replay.packUrl).toBe('models/tiny/pack.json');
    expect(replay.files).toBeUndefined();
    expect(worker().last('extract').featuresId).toBe(extract.featuresId);
  });
});
