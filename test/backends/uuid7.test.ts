import fc from 'fast-check';
import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/backends/store/uuid7.js';

// The send path's UUIDv7 (pooled randomness): valid v7 ids whose text sorts in the order they
// were taken, whatever the clock does between calls (steps, repeats, going back), and none twice.

const timeOf = (u: string) => parseInt(u.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7', () => {
  it('is a version 7, RFC 9562 variant id carrying the time it was taken', () => {
    const now = Date.now();
    const u = uuidv7(now);
    expect(validate(u)).toBe(true);
    expect(version(u)).toBe(7);
    expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(timeOf(u)).toBeGreaterThanOrEqual(now);
  });

  it('property: any sequence of clock readings gives valid, distinct ids in increasing order', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: -5, max: 5 }), fc.integer({ min: 1, max: 1_000_000 })), { minLength: 1, maxLength: 300 }), (steps) => {
        let now = Date.now() + 10_000_000;
        const ids: string[] = [];
        for (const s of steps) {
          now += s;
          ids.push(uuidv7(now));
        }
        for (let i = 0; i < ids.length; i++) {
          expect(version(ids[i])).toBe(7);
          if (i > 0) expect(ids[i] > ids[i - 1]).toBe(true);
        }
        expect(new Set(ids).size).toBe(ids.length);
      }),
      { numRuns: 200 },
    );
  });

  it("without dashes (an event's id) it is the same id, its 32 hex digits alone", () => {
    // Past any clock the property above moved to: the id then carries this time.
    const now = Date.now() + 1_000_000_000_000;
    const plain = uuidv7(now, '');
    expect(plain).toMatch(/^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    const u = `${plain.slice(0, 8)}-${plain.slice(8, 12)}-${plain.slice(12, 16)}-${plain.slice(16, 20)}-${plain.slice(20)}`;
    expect(validate(u)).toBe(true);
    expect(timeOf(u)).toBe(now);
    // Taken in order with the dashed ones: the counter is shared.
    expect(uuidv7(now).replace(/-/g, '') > plain).toBe(true);
  });

  it('draws fresh randomness past its pool (more ids than one pool holds)', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    // The random tail differs from one id to the next, not only the counter.
    expect(new Set(ids.map((u) => u.slice(-10))).size).toBeGreaterThan(4990);
  });
});
