// Property-based tests of pack.json validation (fast-check): a valid manifest damaged at any place, in any way, is
// refused with an EngineError whose message names what is wrong, or it is still a manifest the schema accepts.
// Nothing else may escape (a TypeError from reading a field that is not there would).
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/engine/errors';
import { checkWeightsManifest, validateManifest } from '../../src/engine/packManifest';
import { packSchemaProblem } from '../../src/engine/packSchema';
import { REPO_ROOT } from './helpers/fixtures';

const VALID: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'tests/fixtures/tiny/pack.json'), 'utf8'));

type Key = string | number;

/** Every place in a JSON tree, as the keys that lead to it. */
function allPaths(value: unknown, prefix: Key[] = []): Key[][] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [Key, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...allPaths(child, [...prefix, key])]);
}
const PATHS = allPaths(VALID);

type Damage = { kind: 'replace'; value: unknown } | { kind: 'delete' } | { kind: 'add'; key: string; value: unknown };

function damaged(path: Key[], damage: Damage): unknown {
  const pack = structuredClone(VALID) as Record<Key, unknown>;
  let parent = pack;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<Key, unknown>;
  const last = path[path.length - 1];
  if (damage.kind === 'replace') parent[last] = damage.value;
  else if (damage.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (parent[last] !== null && typeof parent[last] === 'object' && !Array.isArray(parent[last])) {
    (parent[last] as Record<string, unknown>)[damage.key] = damage.value;
  } else parent[last] = damage.value;
  return pack;
}

function expectRefusedOrValid(json: unknown): void {
  try {
    const { manifest, arch } = validateManifest(json);
    checkWeightsManifest(manifest, arch);
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    const { code, message, file } = error as EngineError;
    expect(['pack-format', 'pack-shape']).toContain(code);
    expect(file).toBe('pack.json');
    expect(message).toMatch(/^(pack\.json|models\.|level |weight )/);
    return;
  }
  expect(packSchemaProblem(json)).toBeNull();
}

// Values near the bounds and of the wrong kinds, besides arbitrary JSON.
const interesting = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(0, -1, 1, 2, 1.5, 1e9, 2 ** 53, 4194305, 8193, 257, '', 'x', null, true, [], {}, '0'.repeat(64)),
);
const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), value: interesting }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({ kind: fc.constant('add' as const), key: fc.string({ maxLength: 8 }), value: interesting }),
);

describe('pack.json properties', () => {
  it('the committed manifest is accepted as it is', () => {
    expect(() => validateManifest(VALID)).not.toThrow();
  });

  it('a manifest damaged anywhere is refused with a message, or still follows the schema', () => {
    fc.assert(
      fc.property(fc.nat(), damageArb, (pick, damage) =>
        expectRefusedOrValid(damaged(PATHS[pick % PATHS.length], damage)),
      ),
      { numRuns: 2000 },
    );
  });

  it('several damages at once, too', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), damageArb), { minLength: 2, maxLength: 4 }), (damages) => {
        let json = VALID;
        for (const [pick, damage] of damages) {
          const paths = allPaths(json);
          if (paths.length === 0) break;
          json = (() => {
            const path = paths[pick % paths.length];
            const copy = structuredClone(json) as Record<Key, unknown>;
            let parent = copy;
            for (const key of path.slice(0, -1)) parent = parent[key] as Record<Key, unknown>;
            const last = path[path.length - 1];
            if (damage.kind === 'delete') delete parent[last];
            else parent[last] = damage.kind === 'replace' ? damage.value : { [damage.key]: damage.value };
            return copy;
          })();
        }
        expectRefusedOrValid(json);
      }),
      { numRuns: 500 },
    );
  });

  it('any JSON value at all is refused with a message', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => expectRefusedOrValid(json)),
      { numRuns: 500 },
    );
  });
});
