// vitest 5's reporter calls Map.groupBy (Node >= 21); this keeps failure reports readable on Node 20.
// Imported by vite.config.ts and vitest.e2e.config.ts; remove once the project requires Node >= 22.
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

export {};
