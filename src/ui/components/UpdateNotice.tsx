// Registers the service worker of the built app (sw.js, scripts/node/pwa.mjs) and, when a newer build has been
// installed beside the running one, offers to switch to it: the new worker takes over only when asked, and the page
// reloads once it has, so a page never runs half of one build and half of another.
import { useEffect, useState } from 'react';

export function UpdateNotice() {
  const [waiting, setWaiting] = useState<ServiceWorker | null>(null);
  useEffect(() => {
    // Not under the dev server (it has HMR, and no sw.js); any build registers, whatever its NODE_ENV.
    if (import.meta.hot || !('serviceWorker' in navigator)) return;
    let cancelled = false;
    const offerWhenInstalled = (worker: ServiceWorker | null) => {
      if (!worker) return;
      const check = () => {
        // With no controller this is the first install, not an update.
        if (worker.state === 'installed' && navigator.serviceWorker.controller && !cancelled) setWaiting(worker);
      };
      check();
      worker.addEventListener('statechange', check);
    };
    navigator.serviceWorker
      .register(new URL('sw.js', document.baseURI))
      .then((registration) => {
        offerWhenInstalled(registration.waiting);
        registration.addEventListener('updatefound', () => offerWhenInstalled(registration.installing));
      })
      .catch(() => {
        /* no service worker (private mode, file:// or a blocked scope): the app still works online */
      });
    return () => {
      cancelled = true;
    };
  }, []);

  if (!waiting) return null;
  const switchNow = () => {
    navigator.serviceWorker.addEventListener('controllerchange', () => window.location.reload(), { once: true });
    waiting.postMessage({ type: 'skip-waiting' });
  };
  return (
    <div className="update-notice" role="status" data-testid="update-notice">
      A new version of the playground is ready.
      <button type="button" onClick={switchNow} data-testid="update-reload">
        Reload to update
      </button>
    </div>
  );
}
