// End-to-end suite (`npm run test:e2e`): the built app in headless Debian Chromium (tests/e2e). Kept apart from
// vite.config.ts's unit/engine projects; files run one after another (2 cores, software GPU backends).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'e2e',
    include: ['tests/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    globalSetup: ['tests/e2e/helpers/globalSetup.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    reporters: ['default', './tests/e2e/helpers/summaryReporter.ts'],
  },
});
