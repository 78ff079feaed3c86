// Types of scripts/node/e2e-server.mjs (used by tests/e2e/helpers/globalSetup.ts).
export declare const ISOLATION_HEADERS: Record<string, string>;

export interface StaticServer {
  url: string;
  port: number;
  /** "STATUS METHOD PATH" of every request served. */
  requests: string[];
  close(): Promise<void>;
}

export declare function startStaticServer(options: {
  root: string;
  port?: number;
  host?: string;
}): Promise<StaticServer>;
