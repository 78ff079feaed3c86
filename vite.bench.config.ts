// Vite config of the benchmark page (bench/index.html): `npx vite build -c vite.bench.config.ts` writes
// bench/tmp/dist, which scripts/node/bench/main.mjs serves (with the pack under /models/) and drives in headless Chromium.
// The page runs the app's engine (src/engine) in a module worker, built exactly as the app builds it.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./bench', import.meta.url));

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('./bench/tmp/dist', import.meta.url)),
    emptyOutDir: true,
    // The bench page, and the WASM roofline page (scripts/node/bench/roofline.mjs).
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('./bench/index.html', import.meta.url)),
        roofline: fileURLToPath(new URL('./bench/roofline.html', import.meta.url)),
      },
    },
    // Readable stack traces in the bench; the app's own build settings are the default ones.
    sourcemap: true,
  },
  // Same headers as the app's dev/preview servers (cross-origin isolation), for `vite -c vite.bench.config.ts`.
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    fs: { allow: [fileURLToPath(new URL('.', import.meta.url))] },
  },
});
