// The group commits of a Parley target over the measured window, read off each process's
// `/metrics` (parley_db_batch_size, parley_db_batch_seconds, parley_reorder_fills_total) at the window's start and end:
// how many commits a second, how many messages each, how long each took from its start to
// its messages on disk, and how many ran at once (their summed time over the window's length,
// per process). A writer whose commits run one at a time, each long, waits on something (the
// disk, a conversation another batch holds); one at the pipeline's depth has no free slot.
// A checkout from before parley_db_batch_seconds (--against) gives only the first two.

export interface CommitStats {
  /** Commits per second, all processes together. */
  perSec: number;
  /** Messages per commit. */
  messagesEach: number | null;
  /** Milliseconds a commit took, start to on disk (null: the server has no parley_db_batch_seconds). */
  msEach: number | null;
  /** Commits running at once, per process (mean over the window). */
  runningEach: number | null;
  /**
   * Gaps read back from the database per second, all processes (parley_reorder_fills_total):
   * a change of another process's whose publish did not arrive within REORDER_WAIT_MS of a
   * later one. Each held the later one's delivery that long.
   */
  reorderFillsPerSec: number;
}

interface Reading {
  count: number;
  sizeSum: number;
  secondsSum: number | null;
  fills: number;
}

export const BENCH_METRICS_TOKEN = 'bench-metrics';

export class CommitSampler {
  #start: Promise<Reading | null> = Promise.resolve(null);

  constructor(readonly urls: readonly string[]) {}

  begin(): void {
    this.#start = this.#read();
  }

  async end(seconds: number): Promise<CommitStats | null> {
    const [a, b] = await Promise.all([this.#start, this.#read()]);
    if (!a || !b || seconds <= 0) return null;
    const count = b.count - a.count;
    const secondsSum = a.secondsSum !== null && b.secondsSum !== null ? b.secondsSum - a.secondsSum : null;
    return {
      perSec: count / seconds,
      messagesEach: count > 0 ? (b.sizeSum - a.sizeSum) / count : null,
      msEach: count > 0 && secondsSum !== null ? (secondsSum / count) * 1000 : null,
      runningEach: secondsSum !== null ? secondsSum / seconds / this.urls.length : null,
      reorderFillsPerSec: (b.fills - a.fills) / seconds,
    };
  }

  /** Every process's counters, summed; null if one cannot be read. */
  async #read(): Promise<Reading | null> {
    try {
      const texts = await Promise.all(
        this.urls.map((u) => fetch(`${u}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } }).then((r) => (r.ok ? r.text() : Promise.reject(new Error(`${r.status}`))))),
      );
      const out: Reading = { count: 0, sizeSum: 0, secondsSum: 0, fills: 0 };
      for (const t of texts) {
        const value = (name: string) => {
          const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(t);
          return m ? Number(m[1]) : null;
        };
        out.count += value('parley_db_batch_size_count') ?? 0;
        out.sizeSum += value('parley_db_batch_size_sum') ?? 0;
        out.fills += value('parley_reorder_fills_total') ?? 0;
        const s = value('parley_db_batch_seconds_sum');
        out.secondsSum = s === null || out.secondsSum === null ? null : out.secondsSum + s;
      }
      return out;
    } catch {
      return null;
    }
  }
}
