// Regenerates docs/figures/screenshot.png, the README's picture of the playground:
// builds the app, serves it with `vite preview`, loads a project-made sample on WASM and captures the compare view.
//   node scripts/node/screenshot.mjs
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_BASE_ARGS } from './chromium.mjs';

const outDir = mkdtempSync(join(tmpdir(), 'pp-shot-'));
const port = 4400 + Math.floor(Math.random() * 500);
execFileSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir'], { stdio: 'inherit' });
const server = spawn('npx', ['vite', 'preview', '--outDir', outDir, '--port', String(port), '--strictPort'], {
  stdio: 'ignore',
  detached: true,
});
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: CHROMIUM_BASE_ARGS,
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  for (let i = 0; ; i++) {
    try {
      await page.goto(`http://127.0.0.1:${port}/?backend=wasm`);
      break;
    } catch (error) {
      if (i > 40) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await page.getByTestId('pack-status').filter({ hasText: 'ready' }).waitFor({ timeout: 120_000 });
  await page.getByTestId('sample').first().waitFor({ timeout: 120_000 });
  await page.getByTestId('compare-toggle').click();
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="compare-grid"] [data-testid="sample"]').length >= 7,
    null,
    { timeout: 120_000 },
  );
  await page.waitForTimeout(1500);
  await page.screenshot({ path: 'docs/figures/screenshot.png' });
  console.log('wrote docs/figures/screenshot.png');
} finally {
  await browser.close();
  process.kill(-server.pid);
}
