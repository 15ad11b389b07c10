import { describe, expect, it } from 'vitest';
import { runFault } from '../../scripts/fault/fault.js';
import { hasPostgres, postgresUrl } from '../helpers/pg.js';

// The short form of `npm run fault`: three Parley processes on one PostgreSQL database and a
// redis-server of the test's own (the shared REDIS_URL is never restarted; it only says Redis
// is available), one SIGSTOP of a process (frozen mid-work past its presence TTL), one
// SIGKILL + restart of a process and one Redis restart while eight users send, then a few
// seconds of resume under load (sockets reconnect with their cursors while the others send
// and edit); then every acked message is in the history once, with gapless seqs, and every
// socket got every seq once and in order, and every edit.
describe.skipIf(!hasPostgres || !process.env.REDIS_URL)('fault injection: SIGSTOP, SIGKILL, a Redis restart and resume under load', () => {
  it('loses, doubles, reorders and misses nothing', async () => {
    const lines: string[] = [];
    const report = await runFault({
      postgresUrl: postgresUrl()!,
      processes: 3,
      clients: 8,
      durationS: 12,
      seed: 7,
      kills: 1,
      redisRestarts: 1,
      stops: 1,
      stopMs: 2_500,
      rate: 20,
      // Resume under load, briefly: sockets reconnect with their cursors while the others send and edit.
      resumeS: 4,
      editRate: 2,
      catchupTimeoutS: 10,
      log: (l) => lines.push(l),
    });
    // Shown on failure, and in the run's output.
    console.log(lines.join('\n') + '\n\n' + report.text);
    const f = report.figures;
    expect(f.faults.map((x) => x.kind)).toEqual(['stop', 'kill', 'redis']);
    // While one process was frozen, the others went on acknowledging: most sends through them
    // did not wait for it (those into a conversation it held did, until it woke).
    expect(f.ackLatencyDuringStopsMs!.n).toBeGreaterThan(0);
    expect(f.ackLatencyDuringStopsMs!.p50).toBeLessThan(1000);
    expect(f.acked).toBeGreaterThan(0);
    expect({
      lost: f.lost,
      duplicated: f.duplicated,
      duplicateDeliveries: f.duplicateDeliveries,
      orderViolations: f.orderViolations,
      missingDeliveries: f.missingDeliveries,
      seqGaps: f.seqGaps,
      staleViews: f.staleViews,
      unacked: f.unacked,
      caughtUp: f.caughtUp,
    }).toEqual({ lost: 0, duplicated: 0, duplicateDeliveries: 0, orderViolations: 0, missingDeliveries: 0, seqGaps: 0, staleViews: 0, unacked: 0, caughtUp: true });
    expect(f.resumePhase.reconnects).toBeGreaterThan(0);
    expect(f.resumePhase.acked).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  }, 90_000);
});
