import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { decodePermalink } from './share/permalink';
import { EngineClient, createEngineWorker } from './state/engineClient';
import { askPersistentStorageOnce, openKeptPackStore } from './engine/packStore';
import { createPlaygroundStore, type PlaygroundEnv } from './state/store';
import { App } from './ui/App';
import { backendFromQuery } from './ui/backendQuery';
import { prepareFromBlob, prepareFromPng, prepareFromUrl } from './ui/imageIO';
import { StoreProvider } from './ui/storeContext';
import './ui/styles.css';

const engine = new EngineClient(createEngineWorker);
const pageUrl = (path: string) => new URL(path, document.baseURI).toString();

const env: PlaygroundEnv = {
  engine,
  packUrl: (id) => pageUrl(`models/${encodeURIComponent(id)}/pack.json`),
  fetchPackIndex: async () => {
    const response = await fetch(pageUrl('models/index.json'), { cache: 'no-cache' });
    if (!response.ok) throw new Error(`models/index.json: ${response.status}`);
    return response.json();
  },
  prepareFromBlob,
  prepareFromUrl: (url, size, name) => prepareFromUrl(pageUrl(url), size, name),
  prepareFromPng,
  randomSeed: () => crypto.getRandomValues(new Uint32Array(1))[0],
  schedule: (() => {
    // Coalesces a burst of setting changes (typing a seed, dragging a slider) into one request.
    let timer: ReturnType<typeof setTimeout> | null = null;
    return (task: () => void) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        task();
      }, 40);
    };
  })(),
  defaultSampleUrl: 'samples/ship.png',
  openKeptPacks: openKeptPackStore,
  askPersistentStorage: askPersistentStorageOnce,
};

const store = createPlaygroundStore(env);

// Object URLs of replaced originals are released (sample paths are plain URLs and need nothing).
let shownOriginal: string | null = null;
store.subscribe((state) => {
  const url = state.source?.originalUrl ?? null;
  if (url === shownOriginal) return;
  if (shownOriginal?.startsWith('blob:')) URL.revokeObjectURL(shownOriginal);
  shownOriginal = url;
});

const { backend, invalid } = backendFromQuery(window.location.search);
if (invalid)
  store
    .getState()
    .reportWarning(
      'backend',
      `Unknown backend "${invalid}" in the address; choosing automatically (webgpu, webgl, wasm or cpu can be forced).`,
    );

const link = decodePermalink(window.location.hash);
if (!link.ok) store.getState().reportError('link', link.error.message);
const hasLink = link.ok && window.location.hash.length > 1;
void store.getState().startup({ backend, link: hasLink && link.ok ? link.state : null });

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <StoreProvider store={store}>
        <App />
      </StoreProvider>
    </StrictMode>,
  );
}
