// Vite build plugin for the offline, installable app: emits sw.js (src/pwa/serviceWorker.js with the build's
// version and precache list prepended) and the web manifest. The version is a hash of every precached file's
// content, so a deploy that changes anything is a new service worker, which the page offers to switch to.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

function filesUnder(root) {
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

export const WEB_MANIFEST = {
  name: 'Pyramid Playground',
  short_name: 'Pyramid',
  description: 'Semantic Pyramid and LAG generators, running in your browser',
  start_url: './',
  scope: './',
  display: 'standalone',
  background_color: '#f4f5f8',
  theme_color: '#1d4fa8',
  icons: [
    { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
    { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any maskable' },
  ],
};

/** @returns {import('vite').Plugin} */
export function offlineApp({ root = process.cwd() } = {}) {
  let publicDir = resolve(root, 'public');
  return {
    name: 'pyramid-playground:offline-app',
    apply: 'build',
    configResolved(config) {
      publicDir = config.publicDir;
      root = config.root;
    },
    transformIndexHtml: () => [
      { tag: 'link', attrs: { rel: 'manifest', href: 'manifest.webmanifest' }, injectTo: 'head' },
      { tag: 'meta', attrs: { name: 'theme-color', content: WEB_MANIFEST.theme_color }, injectTo: 'head' },
      { tag: 'link', attrs: { rel: 'apple-touch-icon', href: 'icons/icon-192.png' }, injectTo: 'head' },
    ],
    generateBundle(_options, bundle) {
      this.emitFile({ type: 'asset', fileName: 'manifest.webmanifest', source: JSON.stringify(WEB_MANIFEST, null, 2) });
      const hash = createHash('sha256');
      const entries = [];
      hash.update(JSON.stringify(WEB_MANIFEST));
      for (const [fileName, output] of Object.entries(bundle)) {
        if (fileName === '_headers' || fileName.endsWith('.map')) continue;
        entries.push(fileName);
        hash.update(fileName).update(output.type === 'chunk' ? output.code : output.source);
      }
      for (const file of filesUnder(publicDir)) {
        const name = relative(publicDir, file).split(sep).join('/');
        if (name.endsWith('.md')) continue;
        entries.push(name);
        hash.update(name).update(readFileSync(file));
      }
      const index = resolve(root, 'models/index.json');
      if (existsSync(index)) {
        entries.push('models/index.json');
        hash.update(readFileSync(index));
      }
      const precache = ['./', 'manifest.webmanifest', ...entries.filter((name) => name !== 'index.html').sort()];
      const version = hash.digest('hex').slice(0, 16);
      const body = readFileSync(resolve(root, 'src/pwa/serviceWorker.js'), 'utf8');
      const source = `const VERSION = ${JSON.stringify(version)};\nconst PRECACHE = ${JSON.stringify(precache)};\n${body}`;
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}
