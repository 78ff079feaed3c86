// Types of scripts/node/headers.mjs (used by vite.config.ts and the e2e tests).
export declare const CONTENT_SECURITY_POLICY: string;
export declare const META_CONTENT_SECURITY_POLICY: string;
export declare const ISOLATION_HEADERS: Record<string, string>;
export declare const FRAMING_HEADERS: Record<string, string>;
