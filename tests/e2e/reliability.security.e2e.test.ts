// Reliability, security: the built site's Content-Security-Policy (no inline scripts, no eval, workers and WASM
// allowed) as written and as enforced by Chromium, and no network request other than the app's own files during a
// session that touches every feature (pack, WASM backend, generation, compare, LAG, an uploaded image, a link).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, META_CONTENT_SECURITY_POLICY } from '../../scripts/node/headers.mjs';
import { waitForGrid } from './helpers/app';
import { goodPng } from './reliability-fixtures/files';
import {
  cspViolations,
  expectNoPageErrors,
  shareReliabilityContext,
  openReady,
  DEFAULT_PACK_DIGEST,
  type RelContext,
} from './reliability-fixtures/harness';

const baseUrl = inject('baseUrl');
const distDir = inject('distDir');
let rel: RelContext;

/** Response headers of every script the session loaded (page scripts and the engine worker's). */
const scriptHeaders = new Map<string, Record<string, string>>();

shareReliabilityContext((shared) => {
  rel = shared;
  rel.context.on('response', (response) => {
    if (/\.m?js$/.test(new URL(response.url()).pathname)) scriptHeaders.set(response.url(), response.headers());
  });
});

function builtPolicy(): { html: string; directives: Map<string, string[]> } {
  const html = readFileSync(join(distDir, 'index.html'), 'utf8');
  const meta = /<meta[^>]+http-equiv="Content-Security-Policy"[^>]+content="([^"]+)"/i.exec(html);
  if (!meta) throw new Error('the built index.html has no Content-Security-Policy meta');
  const policy = meta[1].replace(/&#39;/g, "'").replace(/&quot;/g, '"');
  const directives = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values);
  }
  return { html, directives };
}

describe('reliability: security', () => {
  it('the built index.html carries a strict CSP and no inline script', async ({ annotate }) => {
    const { html, directives } = builtPolicy();
    const scripts = directives.get('script-src') ?? [];
    expect(scripts).not.toContain("'unsafe-inline'");
    expect(scripts).not.toContain("'unsafe-eval'");
    expect(scripts).toContain("'self'");
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    for (const [name, values] of directives) {
      for (const value of values)
        expect(value, `${name} allows a remote origin`).toMatch(/^('self'|'none'|'wasm-unsafe-eval'|data:|blob:)$/);
    }
    const inline = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].filter(
      ([, attrs, body]) => !/\bsrc=/.test(attrs) || body.trim() !== '',
    );
    expect(
      inline.map((m) => m[0].slice(0, 80)),
      'inline scripts in index.html',
    ).toEqual([]);
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers
    // One policy everywhere: the <meta> (less frame-ancestors, which only a header can carry), the header of
    // scripts/node/headers.mjs, and the `_headers` file for static hosts.
    expect([...directives].map(([n, v]) => [n, ...v].join(' ')).join('; ')).toBe(META_CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toBe(`${META_CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`);
    const staticHeaders = readFileSync(join(distDir, '_headers'), 'utf8');
    expect(staticHeaders).toContain(`  Content-Security-Policy: ${CONTENT_SECURITY_POLICY}\n`);
    expect(staticHeaders).toContain('  X-Frame-Options: DENY\n');
    await annotate([...directives].map(([n, v]) => `${n} ${v.join(' ')}`).join('; '));
  });

  it('a full session: only same-origin requests, no CSP violation; eval, inline scripts and remote loads are blocked', async ({
    annotate,
  }) => {
    const { app } = await openReady(rel, baseUrl, { hash: `v=1&digest=${DEFAULT_PACK_DIGEST}&seed=5` });
    const page = app.page;
    // every feature once: a new image, compare, LAG
    await page
      .getByTestId('file-input')
      .setInputFiles({ name: 'session.png', mimeType: 'image/png', buffer: goodPng(50) });
    await waitForGrid(app, { container: 'sample-grid', levels: [2], samples: 6, timeout: 30_000 });
    await page.getByTestId('compare-toggle').click();
    await waitForGrid(app, { container: 'compare-grid', levels: [0, 1, 2, 3, 4, 5, 6], samples: 6, timeout: 60_000 });
    await page.getByTestId('mode-select').selectOption('lag');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="sample"][data-level="lag"]').length > 0,
      null,
      { timeout: 60_000 },
    );
    const sessionViolations = await cspViolations(page);
    const origin = new URL(baseUrl).origin;
    const foreign = rel.requests.filter(
      (url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:'),
    );
    expect(foreign, 'requests to anything but the app').toEqual([]);
    expect(sessionViolations, 'CSP violations during normal use').toEqual([]);
    expect(
      rel.requests.some((url) => url.endsWith('.wasm')),
      'the WASM backend was fetched from the site',
    ).toBe(true);
    expectNoPageErrors(app);
    // The engine's module worker gets the policy from its own script's response (a <meta> never reaches it), and
    // the WASM backend still runs its helper threads under it (their importScripts must be a same-origin URL).
    const workerScripts = [...scriptHeaders].filter(([url]) => /\/worker-[\w-]+\.js$/.test(new URL(url).pathname));
    expect(
      workerScripts.map(([url]) => url),
      'the engine worker script was loaded',
    ).toHaveLength(1);
    expect(workerScripts[0][1]['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(scriptHeaders.size).toBeGreaterThan(1);
    for (const [url, headers] of scriptHeaders)
      expect(headers['content-security-policy'], url).toBe(CONTENT_SECURITY_POLICY);
    const wasmDetail = (await page.getByTestId('backend-badge').getAttribute('title')) ?? '';
    expect(wasmDetail, 'WASM threads under the worker CSP').toMatch(/^WASM with SIMD, [2-8] threads$/);

    // What the policy must stop.
    const blocked = await page.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      const out: Record<string, string> = {};
      // DevTools' Runtime.evaluate allows eval during its own synchronous run (allowUnsafeEvalBlockedByCSP defaults
      // to true): leave that turn first, so the page's policy is what decides, as for the app's own code.
      await new Promise((done) => setTimeout(done, 0));
      try {
        out.eval = String(eval('"eval ran"'));
      } catch (e) {
        out.eval = (e as Error).name;
      }
      try {
        out.function = String(new Function('return "Function ran"')());
      } catch (e) {
        out.function = (e as Error).name;
      }
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true';
      document.body.append(script);
      const remoteScript = document.createElement('script');
      remoteScript.src = 'https://example.invalid/x.js';
      document.body.append(remoteScript);
      try {
        await fetch('https://example.invalid/data.json');
        out.fetch = 'fetched';
      } catch (e) {
        out.fetch = (e as Error).name;
      }
      // An inserted inline script runs inside append() when allowed, so the flag is final here.
      out.inline = String(w.__inlineRan ?? 'blocked');
      return out;
    });
    expect(blocked).toEqual({ eval: 'EvalError', function: 'EvalError', fetch: 'TypeError', inline: 'blocked' });
    const violations = (await cspViolations(page)).slice(sessionViolations.length);
    expect(violations.some((v) => v.startsWith('script-src') && v.endsWith('eval'))).toBe(true);
    expect(violations.some((v) => v.startsWith('script-src-elem') && v.endsWith('inline'))).toBe(true);
    expect(violations.some((v) => v.includes('example.invalid/x.js'))).toBe(true);
    expect(violations.some((v) => v.startsWith('connect-src') && v.includes('example.invalid'))).toBe(true);
    await annotate(
      `${rel.requests.length} requests, all ${origin}; CSP header on ${scriptHeaders.size} scripts incl. the worker; ` +
        `"${wasmDetail}"; 0 violations in use; blocked: ${JSON.stringify(blocked)}; ${violations.length} violations when attacked`,
    );
  });
});
