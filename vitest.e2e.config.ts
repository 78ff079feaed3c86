// End-to-end suite (`npm run test:e2e`): the built app in headless Debian Chromium (tests/e2e). Kept apart from
// vite.config.ts's unit/engine projects; files run one after another (2 cores, software GPU backends).
import { defineConfig } from 'vitest/config';

// vitest 5's reporter calls Map.groupBy (Node >= 21); same shim as vite.config.ts, for Node 20.
const mapWithGroupBy = Map as unknown as { groupBy?: unknown };
mapWithGroupBy.groupBy ??= <K, V>(items: Iterable<V>, keyOf: (item: V, index: number) => K): Map<K, V[]> => {
  const groups = new Map<K, V[]>();
  let index = 0;
  for (const item of items) {
    const key = keyOf(item, index++);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
};

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
