// The HTTP headers the app needs, one source for every place that serves it: vite dev and preview (vite.config.ts),
// scripts/node/e2e-server.mjs, and the `_headers` file the build writes for static hosts; the Content-Security-Policy
// also goes into the built index.html as a <meta> (for hosts that send no headers). The header is what covers the
// engine's module Web Worker: a worker gets the policy of its own script's response, never the page's <meta> (a
// blob: worker inherits its creator's). No inline scripts, no eval (WebAssembly compilation only), workers from
// the site and blob: (the WASM backend's helper threads), no network request beyond the app's own files, and no
// page of another site may frame the app (clickjacking: a hidden playground under someone else's buttons).
const POLICY_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' data: blob:",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
];

/** Browsers honour frame-ancestors only in a header; in a <meta> it is ignored (and Chromium logs an error). */
const HEADER_ONLY_DIRECTIVES = ["frame-ancestors 'none'"];

/** The policy every response carries as a header. */
export const CONTENT_SECURITY_POLICY = [...POLICY_DIRECTIVES, ...HEADER_ONLY_DIRECTIVES].join('; ');

/** The same policy without the directives a <meta> cannot carry, for the built index.html. */
export const META_CONTENT_SECURITY_POLICY = POLICY_DIRECTIVES.join('; ');

/** Cross-origin isolation, which lets the WASM backend use threads (SharedArrayBuffer). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** No framing, for browsers that predate frame-ancestors (the CSP directive wins where both are known). */
export const FRAMING_HEADERS = {
  'X-Frame-Options': 'DENY',
};
