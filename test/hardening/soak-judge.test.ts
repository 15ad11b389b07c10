import fc from 'fast-check';
import { describe, it } from 'vitest';
import { judge, LIMITS, type Sample } from '../../scripts/soak/soak.js';

// The soak's verdict (scripts/soak, npm run soak and its CI form): what it passes and fails,
// for any series, so neither a noisy flat run fails nor a leak passes.

const MB = 2 ** 20;
const figures = (rss: number, heapUsed: number, handles: number) => ({ rss, heapUsed, heapTotal: heapUsed * 1.2, external: 5 * MB, oldSpace: 36 * MB, handles, listeners: 15, connections: 24, followers: 42 });

/** A series whose every figure wanders within `noise` of its level, plus `drift` × rss spread evenly over it. */
const series = (n: number, noise: number[], drift: number): Sample[] =>
  Array.from({ length: n }, (_, i) => {
    const level = 1 + (drift * i) / (n - 1);
    const e = 1 + noise[i % noise.length];
    return { t: i * 10, ...figures(200 * MB * level * e, 50 * MB * e, 30 + Math.round(noise[i % noise.length] * 40)), sent: i * 100 };
  });

const run = (s: Sample[], extra: Partial<Parameters<typeof judge>[0]> = {}) =>
  judge({ series: s, quiet: { before: figures(190 * MB, 45 * MB, 29), after: figures(195 * MB, 45 * MB, 29), messages: 10_000 }, sent: 10_000, acked: 10_000, lost: 0, duplicated: 0, duplicates: [], serverErrors: 0, errorFrames: {}, snapshots: 0, ...extra });

const noise = fc.array(fc.double({ min: -0.03, max: 0.03, noNaN: true }), { minLength: 1, maxLength: 50 });
const length = fc.integer({ min: 10, max: 400 });

describe('the soak verdict', () => {
  it('passes a flat series whatever its noise (within 3%)', () => {
    fc.assert(fc.property(length, noise, (n, e) => run(series(n, e, 0)).ok));
  });

  it('fails whenever RSS grew steadily by more than twice the limit, and names it', () => {
    fc.assert(
      fc.property(length, noise, fc.double({ min: 2.5 * LIMITS.growth, max: 3, noNaN: true }), (n, e, drift) => {
        const v = run(series(n, e, drift));
        return !v.ok && v.failures.some((f) => f.startsWith('RSS grew'));
      }),
    );
  });

  it('fails on anything lost, duplicated or answered 5xx, on handles left at rest, and on heap kept per message', () => {
    fc.assert(
      fc.property(length, noise, fc.integer({ min: 1, max: 1000 }), fc.constantFrom('lost', 'duplicated', 'serverErrors', 'handles', 'heap'), (n, e, k, what) => {
        const s = series(n, e, 0);
        const v =
          what === 'handles'
            ? run(s, { quiet: { before: figures(190 * MB, 45 * MB, 29), after: figures(190 * MB, 45 * MB, 29 + LIMITS.quietSlack + k), messages: 10_000 } })
            : what === 'heap'
              ? run(s, { quiet: { before: figures(190 * MB, 45 * MB, 29), after: { ...figures(190 * MB, 45 * MB, 29), oldSpace: 36 * MB + LIMITS.restSlack + 10_000 * (LIMITS.bytesPerMessage + k) }, messages: 10_000 } })
              : run(s, { [what]: k });
        return !v.ok;
      }),
    );
  });
});
