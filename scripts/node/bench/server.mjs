// The bench's static server: the bench build at /, packs at /models/, cross-origin isolated, with byte accounting
// (what crossed the wire on each page load, and how much of it was the pack).
import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { distDir, repo } from './options.mjs';
import { peerRoute } from './ort.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.map': 'application/json',
};

export function startServer() {
  const wire = { total: 0, models: 0, requests: [] };
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const peer = peerRoute(path);
    const [root, rel, cacheControl] = peer
      ? peer
      : path.startsWith('/models/')
        ? [join(repo, 'models'), path.slice('/models/'.length), 'public, max-age=600'] // GitHub Pages' policy
        : path.startsWith('/size-packs/') // random-weight packs of the image-size experiment (sizes.mjs)
          ? [join(repo, 'bench', 'size-packs'), path.slice('/size-packs/'.length), 'no-cache']
          : path.startsWith('/assets/')
            ? [distDir, path.slice(1), 'public, max-age=31536000, immutable'] // content-hashed names
            : [distDir, path === '/' ? 'index.html' : path.slice(1), 'no-cache'];
    const file = resolve(root, rel);
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': cacheControl,
    };
    let stat;
    try {
      if (!file.startsWith(resolve(root) + sep)) throw new Error('outside');
      stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a file');
    } catch {
      response.writeHead(404, headers).end('not found');
      return;
    }
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const count = (bytes) => {
      wire.total += bytes;
      if (path.startsWith('/models/')) wire.models += bytes;
      wire.requests.push({ path, bytes });
    };
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, { ...headers, ETag: etag });
      response.end();
      count(0);
      return;
    }
    const body = readFileSync(file);
    response.writeHead(200, {
      ...headers,
      ETag: etag,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.byteLength,
    });
    response.end(body);
    count(body.byteLength);
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      done({
        url: `http://127.0.0.1:${port}/`,
        wire,
        resetWire() {
          wire.total = 0;
          wire.models = 0;
          wire.requests = [];
        },
        close: () => new Promise((r) => server.close(r)),
      });
    }),
  );
}
