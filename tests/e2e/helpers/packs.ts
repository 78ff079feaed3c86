// The 64 px test pack (tests/fixtures/tiny64: random weights, made by tests/fixtures/make_fixtures.py) as the e2e
// files open it: a folder holding pack.json and its shards, chosen through the app's `pack-open-folder` input.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppPage } from './app';

export const TINY64_FIXTURE = join(__dirname, '../../fixtures/tiny64');
export const TINY64_TITLE = 'tiny 64 px test pack';
/** The files that make the pack (the fixture folder also holds the engine tests' reference tensors). */
export const TINY64_FILES = readdirSync(TINY64_FIXTURE).filter(
  (name) => name === 'pack.json' || /\.shard\d+of\d+\.bin$/.test(name),
);
export const TINY64_DIGEST: string = JSON.parse(readFileSync(join(TINY64_FIXTURE, 'pack.json'), 'utf8')).digest;
/** The size the picker shows: pack.json and the shards, in KB. */
export const TINY64_KB = `${Math.round(TINY64_FILES.reduce((sum, file) => sum + statSync(join(TINY64_FIXTURE, file)).size, 0) / 1024)} KB`;

/** The pack's files by name, as bytes. */
export function tiny64Files(): Map<string, Buffer> {
  return new Map(TINY64_FILES.map((file) => [file, readFileSync(join(TINY64_FIXTURE, file))]));
}

/** A copy of the pack in the new folder `dir`, changed by `edit` (file name -> bytes; a deleted entry is left out). */
export function writeTiny64Folder(dir: string, edit: (files: Map<string, Buffer>) => void = () => {}): string {
  mkdirSync(dir);
  const files = tiny64Files();
  edit(files);
  for (const [file, bytes] of files) writeFileSync(join(dir, file), bytes);
  return dir;
}

/** Waits until pack-status names `title` as ready. */
export async function waitForReadyPack(app: AppPage, title: string): Promise<void> {
  await app.page.waitForFunction(
    (wanted) => document.querySelector('[data-testid="pack-status"]')?.textContent?.trim() === `Pack ready: ${wanted}`,
    title,
    { timeout: 120_000, polling: 100 },
  );
}

/**
 * Opens the pack folder `dir` through the picker's folder input (`pack-open-folder`, or the "this link needs a pack"
 * note's `pack-open-folder-needed`) and waits until it is ready.
 */
export async function openPackFolder(
  app: AppPage,
  dir: string,
  options: { title?: string; input?: 'pack-open-folder' | 'pack-open-folder-needed' } = {},
): Promise<void> {
  await app.page.getByTestId(options.input ?? 'pack-open-folder').setInputFiles(dir);
  await waitForReadyPack(app, options.title ?? TINY64_TITLE);
}
