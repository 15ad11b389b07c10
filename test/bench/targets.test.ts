import { describe, expect, it } from 'vitest';
import { targetLines, targetsTable, type RowFigures } from '../../bench/lib/targets.js';

// `npm run bench` prints issue 21's targets from the rows it ran: a wrong ratio or a target
// called met that is not would misreport where Parley stands.
const row = (rate: number, half: RowFigures['half'] = null): RowFigures => ({ rate, half });
const byName = (lines: ReturnType<typeof targetLines>, start: string) => lines.find((l) => l.target.trimStart().startsWith(start))!;

describe('bench targets', () => {
  it('reads each ratio off the rows it names, against its bound', () => {
    const lines = targetLines({
      pairs: {
        floor: row(50_000, { offered: 25_000, delivered: 25_000, p99: 4, ackP99: null }),
        sqlite: row(30_000, { offered: 25_000, delivered: 24_900, p99: 7.9, ackP99: 15.5 }),
        postgres: row(10_000),
        cluster: row(20_000),
        processes: 2,
      },
      group: { floor: row(100_000), sqlite: row(89_000), size: 50 },
    });
    expect(byName(lines, '1.')).toMatchObject({ measured: '0.60x (30,000 / 50,000 msg/s)', met: true });
    // 7.9 ms against the floor's 4: within 2x; the ack's 15.5 ms is not within 15.
    expect(byName(lines, '2.')).toMatchObject({ met: true });
    expect(byName(lines, 'send->ack')).toMatchObject({ measured: '15.5 ms', met: false });
    expect(byName(lines, '3.')).toMatchObject({ measured: '0.67x (20,000 / 30,000 msg/s)', met: false });
    expect(byName(lines, '2 processes vs 1')).toMatchObject({ measured: '2.00x (20,000 / 10,000 msg/s)', met: true });
    expect(byName(lines, '4.')).toMatchObject({ measured: '0.89x (89,000 / 100,000 msg/s)', met: false });
  });

  it('calls a tail at a rate the server could not deliver not met, whatever its p99', () => {
    const lines = targetLines({
      pairs: { floor: row(50_000, { offered: 25_000, delivered: 25_000, p99: 4, ackP99: null }), sqlite: row(8_000, { offered: 25_000, delivered: 8_000, p99: 5, ackP99: 9 }) },
      group: {},
    });
    expect(byName(lines, '2.').met).toBe(false);
    expect(byName(lines, '2.').measured).toContain('delivered 8,000 of 25,000 offered');
    expect(byName(lines, 'send->ack').met).toBe(false);
  });

  it('lists a target whose rows did not run as not measured, with what runs them', () => {
    const lines = targetLines({ pairs: { floor: row(50_000), sqlite: row(6_000) }, group: {} });
    expect(byName(lines, '1.').met).toBe(false);
    for (const start of ['2.', 'send->ack', '3.', '2 processes', '4.']) {
      expect(byName(lines, start).met).toBeNull();
      expect(byName(lines, start).measured).toMatch(/^not run \(/);
    }
    const table = targetsTable({ pairs: { floor: row(50_000), sqlite: row(6_000) }, group: {} });
    expect(table).toContain('NO');
    expect(table).toContain('npm run bench:storm');
  });
});
