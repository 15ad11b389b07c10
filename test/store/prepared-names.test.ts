import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_PREPARED, preparedName } from '../../src/backends/store/postgres-store.js';

// The names of PostgreSQL prepared statements (Statement.prepared) are a per-process bound:
// each one is a statement every connection that ran it keeps. Its own file, as the names are
// the module's for the whole process.
describe('prepared statement names', () => {
  it('property: a text keeps one name, no two texts share one, and a process names at most MAX_PREPARED', () => {
    const seen = new Map<string, string | undefined>();
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { maxLength: 120 }), (texts) => {
        for (const t of texts) {
          const name = preparedName(`SELECT /* ${t} */ 1`);
          if (seen.has(t)) expect(name).toBe(seen.get(t));
          else seen.set(t, name);
        }
        const named = [...seen.values()].filter((n) => n !== undefined);
        expect(new Set(named).size).toBe(named.length);
        expect(named.length).toBeLessThanOrEqual(MAX_PREPARED);
      }),
      { numRuns: 50 },
    );
    // Past the bound, new texts run unnamed, and the named ones keep their names.
    const before = [...seen.entries()];
    const fresh = Array.from({ length: MAX_PREPARED + 1 }, (_, i) => preparedName(`SELECT /* fresh ${i} */ 1`));
    expect(fresh.at(-1)).toBeUndefined();
    for (const [t, name] of before) expect(preparedName(`SELECT /* ${t} */ 1`)).toBe(name);
  });

});
