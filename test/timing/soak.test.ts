import { describe, expect, it } from 'vitest';
import { formatSoakReport, runSoak } from '../../scripts/soak/soak.js';
import { ciForm } from '../helpers/ci-form.js';

// The CI form of `npm run soak` (scripts/soak): a minute of churn against one Parley process
// on SQLite (the most messages a minute here, so a leak per message shows soonest) — connects,
// clean and abrupt disconnects, resumes, sends in 1:1s and groups, uploads, reads, typing,
// reactions — with a full GC before each sample.
// The same rules as the hour: RSS and the heap after GC flat within 10% after the warm-up,
// handles and listeners flat, nothing lost or duplicated, no 5xx; and, since a minute is too
// short for a leak to reach 10% of the heap, V8's old space at rest (every client connected
// and idle, after a full GC) may grow by 0.6 MB plus 1,000 bytes per message sent (keeping
// every event the hub delivers costs about 5 KB per message: that fails here).
// Timed alone (vitest project "timing"): memory figures on a machine busy with other files
// measure the other files.

describe('soak (npm run soak, short form)', () => {
  it('a minute of churn leaves memory, handles and listeners where the warm-up left them, and loses nothing', { timeout: 150_000 }, async () => {
    const report = await runSoak({
      durationMs: ciForm(75_000, 45_000),
      warmupMs: ciForm(25_000, 15_000),
      sampleEveryMs: 3_000,
      // Faster than the script's pace: more messages in the minute for a leak to show in.
      actEveryMs: 150,
      log: () => {},
    });
    const text = formatSoakReport(report);
    console.log(text);
    expect(report.acked, text).toBeGreaterThan(100);
    expect(report.actions.upload ?? 0, text).toBeGreaterThan(0);
    expect(report.actions.react ?? 0, text).toBeGreaterThan(0);
    expect(report.lost, text).toBe(0);
    expect(report.duplicated, text).toBe(0);
    expect(report.serverErrors, text).toBe(0);
    expect(report.verdict.failures, text).toEqual([]);
  });
});
