#!/usr/bin/env node
// Static server for the end-to-end suite (tests/e2e): serves a built site (default dist/) on 127.0.0.1 with the
// headers the app asks for (scripts/node/headers.mjs: CSP, COOP same-origin, COEP require-corp, X-Frame-Options;
// plus CORP), real MIME types (application/wasm for the WASM backend) and real 404s (never index.html for a missing
// model file).
//
//   node scripts/node/e2e-server.mjs [--root=dist] [--port=0]     prints "listening http://127.0.0.1:PORT/" and serves
//   import { startStaticServer } from './e2e-server.mjs'      → { url, port, close(), requests }
import { createServer } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTENT_SECURITY_POLICY, FRAMING_HEADERS, ISOLATION_HEADERS as APP_ISOLATION_HEADERS } from './headers.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

export const ISOLATION_HEADERS = { ...APP_ISOLATION_HEADERS, 'Cross-Origin-Resource-Policy': 'same-origin' };

/**
 * Serves `root` until close(). `requests` records every request as "STATUS METHOD PATH" (for failure reports).
 * @param {{ root: string, port?: number, host?: string }} options
 */
export function startStaticServer({ root, port = 0, host = '127.0.0.1' }) {
  const base = resolve(root);
  const requests = [];
  const server = createServer((req, res) => {
    const finish = (status) => requests.push(`${status} ${req.method} ${req.url}`);
    for (const [name, value] of Object.entries({ ...ISOLATION_HEADERS, ...FRAMING_HEADERS }))
      res.setHeader(name, value);
    // Every response: the page's own and the engine worker's script (a worker gets only its script's policy).
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      finish(405);
      return void res.end();
    }
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.statusCode = 400;
      finish(400);
      return void res.end('bad path');
    }
    if (path.endsWith('/')) path += 'index.html';
    const file = resolve(join(base, path));
    if (!(file === base || file.startsWith(base + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      finish(404);
      return void res.end(`Not found: ${path}`);
    }
    res.setHeader('Content-Type', TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    finish(200);
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      resolvePromise({
        url: `http://${host}:${actualPort}/`,
        port: actualPort,
        requests,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = Object.fromEntries(
    process.argv.slice(2).map((a) => {
      const [k, ...v] = a.replace(/^--/, '').split('=');
      return [k, v.join('=')];
    }),
  );
  const root = resolve(args.root || 'dist');
  if (!existsSync(join(root, 'index.html'))) {
    console.error(`${root}/index.html is missing: run \`npx vite build\` first`);
    process.exit(1);
  }
  const { url } = await startStaticServer({ root, port: Number(args.port || 0) });
  console.log(`listening ${url} (serving ${root})`);
}
