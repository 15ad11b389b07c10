// Issue 21's targets, each read off the rows of one `npm run bench` run (the floor measured in
// the same run): which rows a target needs, its figure, the bound and whether it holds. A target
// whose rows did not run is listed with the option that runs them. `npm run bench -- --targets`
// runs every row they need.

/** What a target reads of one row: the medians over its rounds. */
export interface RowFigures {
  /** Delivered msg/s, closed loop. */
  rate: number | null;
  /** The open-loop phase at half the floor's rate (--latency-at-half), when it ran. */
  half: { offered: number | null; delivered: number | null; p99: number | null; ackP99: number | null } | null;
}

/** The rows a target may read, by what they are (plain rows only: no --against, no switched-off parts). */
export interface TargetRows {
  pairs: { floor?: RowFigures; sqlite?: RowFigures; postgres?: RowFigures; cluster?: RowFigures; processes?: number };
  group: { floor?: RowFigures; sqlite?: RowFigures; size?: number };
}

export interface TargetLine {
  target: string;
  measured: string;
  bound: string;
  /** null: not measured in this run. */
  met: boolean | null;
}

const x = (v: number) => `${v.toFixed(2)}x`;
const n0 = (v: number | null | undefined) => (v == null ? '-' : Math.round(v).toLocaleString('en-US'));
const ms = (v: number | null | undefined) => (v == null ? '-' : `${v.toFixed(1)} ms`);

/** A ratio target: `a / b` at least `min`. */
function atLeast(target: string, a: number | null | undefined, b: number | null | undefined, min: number, missing: string): TargetLine {
  if (a == null || b == null || !(b > 0)) return { target, measured: `not run (${missing})`, bound: `>= ${x(min)}`, met: null };
  return { target, measured: `${x(a / b)} (${n0(a)} / ${n0(b)} msg/s)`, bound: `>= ${x(min)}`, met: a / b >= min };
}

/** Issue 21's items 1–4, as this run measured them. */
export function targetLines(rows: TargetRows): TargetLine[] {
  const { pairs, group } = rows;
  const out: TargetLine[] = [];
  out.push(atLeast('1. pairs: 1 SQLite process vs the floor', pairs.sqlite?.rate, pairs.floor?.rate, 0.5, 'the floor and parley rows on pairs'));
  const fh = pairs.floor?.half;
  const ph = pairs.sqlite?.half;
  if (!fh || !ph || fh.p99 == null || ph.p99 == null) {
    out.push({ target: "2. pairs at half the floor's rate: p99 vs the floor's", measured: 'not run (--latency-at-half)', bound: '<= 2.00x', met: null });
    out.push({ target: "   send->ack p99 at that rate", measured: 'not run (--latency-at-half)', bound: '<= 15 ms', met: null });
  } else {
    // A server that cannot deliver what is offered has no tail at that rate: its p99 is the
    // queue it builds, and the target is not met whatever the figure.
    const keptUp = ph.offered == null || ph.delivered == null || ph.delivered >= 0.95 * ph.offered;
    const kept = keptUp ? '' : `; delivered ${n0(ph.delivered)} of ${n0(ph.offered)} offered msg/s`;
    out.push({
      target: "2. pairs at half the floor's rate: p99 vs the floor's",
      measured: `${x(ph.p99 / fh.p99)} (${ms(ph.p99)} / ${ms(fh.p99)}${kept})`,
      bound: '<= 2.00x',
      met: keptUp && ph.p99 <= 2 * fh.p99,
    });
    out.push({ target: '   send->ack p99 at that rate', measured: `${ms(ph.ackP99)}${kept}`, bound: '<= 15 ms', met: keptUp && ph.ackP99 != null && ph.ackP99 <= 15 });
  }
  const procs = pairs.processes ?? 2;
  out.push(atLeast(`3. pairs: ${procs} processes on PostgreSQL + Redis vs 1 SQLite process`, pairs.cluster?.rate, pairs.sqlite?.rate, 0.7, 'the parley and cluster rows on pairs'));
  out.push(atLeast(`   ${procs} processes vs 1 process on PostgreSQL`, pairs.cluster?.rate, pairs.postgres?.rate, 1.5, 'the parley-pg and cluster rows on pairs'));
  out.push(atLeast(`4. group of ${group.size ?? 50}: 1 SQLite process vs the floor`, group.sqlite?.rate, group.floor?.rate, 0.9, 'the floor and parley rows with --group 50'));
  return out;
}

/** The lines as a table, and where items 5–7 are measured. */
export function targetsTable(rows: TargetRows): string {
  const lines = targetLines(rows);
  const head = ['target', 'measured (this run)', 'needed', 'met'];
  const cells = lines.map((l) => [l.target, l.measured, l.bound, l.met === null ? '-' : l.met ? 'yes' : 'NO']);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => s.padEnd(w[i])).join('  ').trimEnd();
  return [
    "# issue 21's targets: each against the floor (or the row it names) measured in this run, medians over the rounds",
    line(head),
    w.map((k) => '-'.repeat(k)).join('  '),
    ...cells.map(line),
    '# 5. reconnect storm: npm run bench:storm; 6. soak: npm run soak (CI runs its short form); 7. typing fan-out: npm run bench:typing',
  ].join('\n');
}
