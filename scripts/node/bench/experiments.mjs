// The bench's two browser experiments besides the backends, each behind its own option and failing on its own:
// the WASM roofline (roofline.mjs) and the cost against image size (sizes.mjs).
import { args, log } from './options.mjs';
import { benchRoofline } from './roofline.mjs';
import { benchSizes } from './sizes.mjs';

async function guarded(what, run) {
  const t0 = Date.now();
  log(`--- ${what} ---`);
  try {
    return await run();
  } catch (error) {
    const message = String(error?.message ?? error);
    log(`${what} failed: ${message}`);
    return { error: message };
  } finally {
    log(`${what}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}

/** results.roofline: null with --no-roofline. */
export function measureRoofline(browser, server) {
  return args.has('no-roofline') ? null : guarded('WASM roofline', () => benchRoofline(browser, server));
}

/** results.sizes: null with --no-sizes. */
export function measureSizes(browser, server) {
  return args.has('no-sizes') ? null : guarded('image sizes', () => benchSizes(browser, server));
}
