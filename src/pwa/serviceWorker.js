// The playground's service worker (built by scripts/node/pwa.mjs, which prepends VERSION and PRECACHE: the build's
// files, the public images and models/index.json). After one visit the app works with the network off: pages and
// models/index.json are fetched from the network first and from the cache when that fails; the build's own files
// (hashed names, never changed in place) come from the cache first. Packs are left to the engine, whose pack store
// (Cache Storage, src/engine/packStore.ts) keeps and verifies them. A new build installs beside the running one and
// waits until the page asks it to take over (the update notice), so a page never mixes two builds.
/* global VERSION, PRECACHE, self, caches, fetch, URL */
const CACHE_PREFIX = 'pyramid-playground-app-';
const CACHE = CACHE_PREFIX + VERSION;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys())
        if (key.startsWith(CACHE_PREFIX) && key !== CACHE) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skip-waiting') self.skipWaiting();
});

async function networkFirst(request, fallbackPath) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok)
      await cache.put(fallbackPath ? new URL(fallbackPath, self.registration.scope).href : request, response.clone());
    return response;
  } catch (error) {
    const cached =
      (await cache.match(request, { ignoreSearch: true })) ??
      (fallbackPath && (await cache.match(new URL(fallbackPath, self.registration.scope).href)));
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cached = await caches.match(request, { ignoreSearch: true, cacheName: CACHE });
  return cached ?? fetch(request);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const path = url.pathname.slice(scope.pathname.length);
  if (path.startsWith('models/') && path !== 'models/index.json') return;
  if (request.mode === 'navigate' || path === '' || path === 'index.html')
    event.respondWith(networkFirst(request, './'));
  else if (path === 'models/index.json') event.respondWith(networkFirst(request, null));
  else event.respondWith(cacheFirst(request));
});
