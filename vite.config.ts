/// <reference types="vitest/config" />
import { defineConfig, type Connect, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { cpSync, createReadStream, existsSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import {
  CONTENT_SECURITY_POLICY,
  FRAMING_HEADERS,
  ISOLATION_HEADERS,
  META_CONTENT_SECURITY_POLICY,
} from './scripts/node/headers.mjs';
import { offlineApp } from './scripts/node/pwa.mjs';

// Where Debian's chromium keeps SwiftShader (libvulkan + the Vulkan ICD), for the webgpu test project.
const swiftShaderDir = process.env.SWIFTSHADER_DIR ?? '/usr/lib/chromium';

// The Content-Security-Policy and isolation headers come from one place (scripts/node/headers.mjs). The built
// index.html carries the policy as a <meta> too, for static hosts that send no headers; the header is what also
// covers the engine's module worker. Writes `_headers` (Netlify / Cloudflare Pages format) next to the build.
const cspInBuild: Plugin = {
  name: 'pyramid-playground:csp',
  apply: 'build',
  transformIndexHtml: () => [
    {
      tag: 'meta',
      attrs: { 'http-equiv': 'Content-Security-Policy', content: META_CONTENT_SECURITY_POLICY },
      injectTo: 'head-prepend',
    },
  ],
  generateBundle() {
    const headers = { ...ISOLATION_HEADERS, ...FRAMING_HEADERS, 'Content-Security-Policy': CONTENT_SECURITY_POLICY };
    const lines = Object.entries(headers).map(([name, value]) => `  ${name}: ${value}`);
    this.emitFile({ type: 'asset', fileName: '_headers', source: `/*\n${lines.join('\n')}\n` });
  },
};

// Dev mode only: Vite's React preamble is an inline <script> and its CSS arrives as injected <style> elements, so
// the dev server's header adds 'unsafe-inline' for those two; everything else is the built site's policy.
const devContentSecurityPolicy = CONTENT_SECURITY_POLICY.replace(
  "script-src 'self'",
  "script-src 'self' 'unsafe-inline'",
).replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");

// Packs live in the top-level models/ folder and are served at <base>/models/: by a middleware in dev and preview
// (a missing file is a real 404, never the SPA's index.html) and copied into the build. In dev only,
// models/tiny falls back to the test pack tests/fixtures/tiny, which is never copied into a build.
function servePacksFrom(roots: (relativePath: string) => string[]): Connect.NextHandleFunction {
  const types: Record<string, string> = {
    '.json': 'application/json',
    '.bin': 'application/octet-stream',
    '.png': 'image/png',
  };
  return (req, res, next) => {
    const match = /^\/(?:.*\/)?models\/([^?#]*)/.exec(req.url ?? '');
    if (!match || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const relativePath = decodeURIComponent(match[1]);
    for (const root of roots(relativePath)) {
      const file = resolve(root, relativePath);
      if (!file.startsWith(resolve(root) + sep) || !existsSync(file) || !statSync(file).isFile()) continue;
      res.setHeader('Content-Type', types[extname(file)] ?? 'application/octet-stream');
      res.setHeader('Content-Length', String(statSync(file).size));
      res.setHeader('Cache-Control', 'no-cache');
      if (req.method === 'HEAD') return void res.end();
      return void createReadStream(file).pipe(res);
    }
    res.statusCode = 404;
    res.end(`Not found: models/${relativePath}`);
  };
}

let projectRoot = process.cwd();
const modelPacks: Plugin = {
  name: 'pyramid-playground:model-packs',
  configResolved(config) {
    projectRoot = config.root;
  },
  configureServer(server) {
    const models = resolve(server.config.root, 'models');
    const tiny = resolve(server.config.root, 'tests/fixtures');
    server.middlewares.use(servePacksFrom((path) => (path.startsWith('tiny/') ? [models, tiny] : [models])));
  },
  configurePreviewServer(server) {
    const built = resolve(server.config.root, server.config.build.outDir, 'models');
    server.middlewares.use(servePacksFrom(() => [built]));
  },
  writeBundle(options) {
    const models = resolve(projectRoot, 'models');
    if (existsSync(models) && options.dir) cpSync(models, resolve(options.dir, 'models'), { recursive: true });
  },
};

export default defineConfig({
  // Relative base: the built site works from any static host and any sub-path.
  base: './',
  // offlineApp: the service worker (sw.js) and web manifest that make the built app installable and usable offline.
  plugins: [react(), cspInBuild, modelPacks, offlineApp()],
  // models/ is served as static files next to the app (packs are fetched, never bundled).
  publicDir: 'public',
  server: {
    headers: { ...ISOLATION_HEADERS, ...FRAMING_HEADERS, 'Content-Security-Policy': devContentSecurityPolicy },
  },
  preview: {
    headers: { ...ISOLATION_HEADERS, ...FRAMING_HEADERS, 'Content-Security-Policy': CONTENT_SECURITY_POLICY },
  },
  worker: { format: 'es' },
  test: {
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['tests/unit/**/*.test.ts', 'tests/engine/**/*.test.ts'],
          exclude: ['tests/engine/**/*.webgpu.test.ts'],
        },
      },
      {
        // WebGPU in Node through the `webgpu` package (Dawn) on SwiftShader's Vulkan driver. The dynamic loader
        // reads LD_LIBRARY_PATH only at process start, so it is set for the forked test process here.
        extends: true,
        test: {
          name: 'webgpu',
          include: ['tests/engine/**/*.webgpu.test.ts'],
          pool: 'forks',
          env: {
            LD_LIBRARY_PATH: [swiftShaderDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
            VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? `${swiftShaderDir}/vk_swiftshader_icd.json`,
          },
        },
      },
    ],
  },
});
