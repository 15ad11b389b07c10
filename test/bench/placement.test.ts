import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CommitSampler } from '../../bench/lib/commits.js';
import { Load, type LoadOptions } from '../../bench/lib/load.js';

// The cluster rows' placement decides what they measure: spread, every pair spans two
// processes (each message crosses the bus, each conversation is written from both);
// `--colocate` (a what-if) puts a whole group on one process. And the reorder-fill row reads
// the processes' counters: a wrong placement or a miscounted fill would misreport the cluster.
const options = (groupSize: number, groups: number, colocate?: boolean): LoadOptions => ({
  groupSize,
  groups,
  dialect: groupSize === 2 ? 'chat' : 'notifications',
  size: 64,
  window: 1,
  rate: 0,
  warmup: 1,
  duration: 1,
  drain: 1,
  msgTimeout: 1,
  settle: 1,
  connectConcurrency: 1,
  setupConcurrency: 1,
  colocate,
});

const processesOf = (load: Load) => Array.from({ length: load.o.groups }, (_, g) => load.clients.filter((c) => c.group === g).map((c) => c.proc));

describe('bench client placement', () => {
  const urls = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'];

  it('spreads every group over the processes by default', () => {
    for (const [size, groups] of [[2, 7], [5, 4]] as const) {
      for (const procs of processesOf(new Load('parley', urls.slice(0, 2), options(size, groups), []))) {
        // Two processes: a pair is always split, a larger group uses both.
        expect(new Set(procs).size).toBe(2);
      }
    }
    const three = processesOf(new Load('parley', urls, options(2, 6), []));
    for (const procs of three) expect(procs[0]).not.toBe(procs[1]);
  });

  it('puts each whole group on one process with colocate, the groups still spread', () => {
    const groups = processesOf(new Load('parley', urls, options(2, 9, true), []));
    for (const procs of groups) expect(new Set(procs).size).toBe(1);
    // Every process holds a third of the groups.
    const perProcess = [0, 1, 2].map((p) => groups.filter((procs) => procs[0] === p).length);
    expect(perProcess).toEqual([3, 3, 3]);
  });
});

describe('bench commit sampler', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  /** A /metrics endpoint whose counters are `counters()` at each read. */
  async function metrics(counters: () => { batches: number; messages: number; seconds: number; fills: number }): Promise<string> {
    const server = createServer((_req, res) => {
      const c = counters();
      res.end(
        [
          `parley_db_batch_size_count ${c.batches}`,
          `parley_db_batch_size_sum ${c.messages}`,
          `parley_db_batch_seconds_count ${c.batches}`,
          `parley_db_batch_seconds_sum ${c.seconds}`,
          `parley_reorder_fills_total ${c.fills}`,
          '',
        ].join('\n'),
      );
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('reports the window’s reorder fills per second, summed over the processes', async () => {
    let reads = 0;
    // Each process: 10 commits of 4 messages, 0.05 s each, and 3 fills over the window.
    const counters = () => (reads++ < 2 ? { batches: 5, messages: 20, seconds: 0.1, fills: 1 } : { batches: 15, messages: 60, seconds: 0.6, fills: 4 });
    const sampler = new CommitSampler([await metrics(counters), await metrics(counters)]);
    sampler.begin();
    const stats = await sampler.end(2);
    expect(stats).toMatchObject({ perSec: 10, messagesEach: 4, reorderFillsPerSec: 3 });
    expect(stats!.msEach).toBeCloseTo(50);
    expect(stats!.runningEach).toBeCloseTo(0.25);
  });
});
