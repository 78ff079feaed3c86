// Types of scripts/node/pwa.mjs (used by vite.config.ts).
import type { Plugin } from 'vite';

export declare const WEB_MANIFEST: Record<string, unknown>;
export declare function offlineApp(options?: { root?: string }): Plugin;
