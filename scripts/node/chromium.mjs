// The headless Chromium every Node tool and test drives: Debian's /usr/bin/chromium (no browser downloads), with
// the flags for a machine without a network or a GPU.

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** No sandbox (containers), no background traffic, no first-run UI. */
export const CHROMIUM_BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-default-apps',
];

/**
 * Plus the GPU backends on SwiftShader: `--enable-unsafe-webgpu` is what exposes a WebGPU adapter (SwiftShader's
 * Vulkan, architecture "swiftshader"); `--enable-unsafe-swiftshader` keeps WebGL on SwiftShader allowed. WebGPU needs
 * a secure context, which http://127.0.0.1 is (a data: URL is not).
 */
export const CHROMIUM_ARGS = [...CHROMIUM_BASE_ARGS, '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'];
