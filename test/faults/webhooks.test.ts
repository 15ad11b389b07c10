import { describe, expect, it } from 'vitest';
import { runWebhookFault } from '../../scripts/fault/webhooks.js';
import { hasPostgres, postgresUrl } from '../helpers/pg.js';

// The short form of `npm run fault:webhooks`: two processes deliver to a loopback receiver
// that verifies every signature; the receiver is down for a while then up, and a process is
// SIGKILLed during delivery and restarted. Every event arrives at least once, a repeat only
// under its own webhook-id, each conversation's in order; nothing is lost.
describe.skipIf(!hasPostgres)('webhooks under faults: a receiver outage and a SIGKILL during delivery', () => {
  it('loses nothing, repeats only under the same id, keeps each conversation in order', async () => {
    const lines: string[] = [];
    const report = await runWebhookFault({
      postgresUrl: postgresUrl()!,
      seed: 19,
      durationS: 10,
      rate: 25,
      conversations: 4,
      receiverDownAtS: 2,
      receiverDownMs: 2_500,
      killAtS: 6,
      killDownMs: 1_000,
      catchupTimeoutS: 30,
      log: (l) => lines.push(l),
    });
    console.log(lines.join('\n') + '\n\n' + report.text);
    const f = report.figures;
    expect(f.sent).toBeGreaterThan(50);
    expect({ lost: f.lost, duplicatesWithOtherId: f.duplicatesWithOtherId, orderViolations: f.orderViolations, badSignatures: f.badSignatures, delivered: f.delivered }).toEqual({
      lost: 0,
      duplicatesWithOtherId: 0,
      orderViolations: 0,
      badSignatures: 0,
      delivered: f.sent,
    });
    expect(report.ok).toBe(true);
  }, 90_000);
});
