// Builds the app once (`vite build` into test-results/e2e/dist, so a developer's dist/ is left alone) and serves
// it with COOP/COEP from scripts/node/e2e-server.mjs on a free 127.0.0.1 port for the whole e2e run.
//   E2E_DIST=dist   serve an existing build instead of building
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startStaticServer } from '../../../scripts/node/e2e-server.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    distDir: string;
  }
}

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

export default async function setup(project: TestProject) {
  let dist: string;
  if (process.env.E2E_DIST) {
    dist = resolve(REPO, process.env.E2E_DIST);
  } else {
    dist = join(REPO, 'test-results/e2e/dist');
    const started = Date.now();
    const vite = join(REPO, 'node_modules/vite/bin/vite.js');
    const build = spawnSync(
      process.execPath,
      [vite, 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'],
      { cwd: REPO, encoding: 'utf8' },
    );
    if (build.status !== 0) {
      throw new Error(`vite build failed (exit ${build.status}):\n${build.stdout}\n${build.stderr}`);
    }
    console.log(`[e2e] vite build -> ${dist} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  for (const required of ['index.html', 'models/index.json']) {
    if (!existsSync(join(dist, required))) {
      throw new Error(
        `${join(dist, required)} is missing: the build must contain the app and a copy of models/ (vite.config.ts, plugin model-packs)`,
      );
    }
  }
  const index = JSON.parse(readFileSync(join(dist, 'models/index.json'), 'utf8')) as {
    default?: string;
    packs?: { id: string }[];
  };
  const packId = index.default ?? index.packs?.[0]?.id;
  if (!packId || !existsSync(join(dist, 'models', packId, 'pack.json'))) {
    throw new Error(`the build has no models/${packId}/pack.json`);
  }
  const server = await startStaticServer({ root: dist });
  console.log(`[e2e] serving ${dist} at ${server.url}`);
  project.provide('baseUrl', server.url);
  project.provide('distDir', dist);
  return async () => {
    await server.close();
  };
}
