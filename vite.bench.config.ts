// Vite config of the benchmark page (bench/index.html): `npx vite build -c vite.bench.config.ts` writes
// bench/tmp/dist, which scripts/bench.mjs serves (with the pack under /models/) and drives in headless Chromium.
// The page runs the app's engine (src/engine) in a module worker, built exactly as the app builds it.
import { defineConfig, type Plugin } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./bench', import.meta.url));

/**
 * Experiment (bench only, `?wasmThreads=N`): lets the threaded WASM backend start in a Vite build. TF.js hands
 * Emscripten's pthread workers `new Blob(['var WasmBackendModuleThreadedSimd = ' + factory.toString()])`; once
 * bundled, that function refers to variables of its enclosing module that the blob lacks ("e is not defined").
 * This points the workers at the package's original, self-contained tfjs-backend-wasm-threaded-simd.js instead.
 */
function wasmThreadsFix(): Plugin {
  return {
    name: 'bench-wasm-threads-fix',
    transform(code, id) {
      if (!id.replace(/\\/g, '/').includes('tfjs-backend-wasm/dist/backend_wasm.js')) return null;
      const blob = /new Blob\(\[`var WasmBackendModuleThreadedSimd = ` \+\s*wasmFactoryThreadedSimd\.toString\(\)\], \{ type: 'text\/javascript' \}\)/;
      if (!blob.test(code)) this.error('tfjs-backend-wasm changed: the threaded-module blob was not found');
      return {
        code:
          `import __threadedSimdScriptUrl from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?url';\n` +
          code.replace(blob, 'new URL(__threadedSimdScriptUrl, self.location.href).href'),
        map: null,
      };
    },
  };
}

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  // The engine runs in the worker, whose modules go through worker.plugins (not the top-level plugins).
  worker: { format: 'es', plugins: () => [wasmThreadsFix()] },
  build: {
    outDir: fileURLToPath(new URL('./bench/tmp/dist', import.meta.url)),
    emptyOutDir: true,
    // Readable stack traces in the bench; the app's own build settings are the default ones.
    sourcemap: true,
  },
  // Same headers as the app's dev/preview servers (cross-origin isolation), for `vite -c vite.bench.config.ts`.
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    fs: { allow: [fileURLToPath(new URL('.', import.meta.url))] },
  },
});
