import type { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Prometheus metrics of one Parley process, served at /metrics. A registry per process
 * (not prom-client's global one), so several servers in one test process stay apart.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly connections: Gauge;
  readonly messagesIn: Counter;
  readonly messagesOut: Counter;
  readonly sendToAck: Histogram;
  readonly fanOut: Histogram;
  readonly busLag: Histogram;
  readonly batchSize: Histogram;
  readonly batchSeconds: Histogram;
  readonly reorderFills: Counter;
  readonly slowConsumers: Counter;
  readonly passwordHashes: Counter;
  /** Read when scraped: how many password hashes wait for a turn (set by the composition root). */
  passwordHashQueue: () => number = () => 0;

  constructor(connectionCount: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' });
    this.connections = new Gauge({
      name: 'parley_connections',
      help: 'Open WebSocket connections on this process',
      registers,
      collect() {
        this.set(connectionCount());
      },
    });
    this.messagesIn = new Counter({ name: 'parley_messages_in_total', help: 'New messages committed by this process', registers });
    this.messagesOut = new Counter({ name: 'parley_messages_out_total', help: 'Message frames written to sockets of this process (acks included)', registers });
    const latency = (name: string, help: string) => new Histogram({ name, help, buckets: LATENCY_BUCKETS, registers });
    this.sendToAck = latency('parley_send_to_ack_seconds', 'From a send reaching the core to its ack written to the sender socket (after the commit)');
    this.fanOut = latency('parley_fanout_seconds', 'From an event being published to its last frame written to a socket of this process (bus lag included)');
    this.busLag = latency('parley_bus_lag_seconds', 'From an event being published (by any process) to its arrival on this process');
    this.batchSize = new Histogram({
      name: 'parley_db_batch_size',
      help: 'Messages committed per transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    });
    // With the batch size: commits per second, and (its sum over a window's length) how many
    // run at once, so a scrape tells a writer that waits on the disk or on locks from one at its limit.
    this.batchSeconds = new Histogram({
      name: 'parley_db_batch_seconds',
      help: 'Time a group commit took from its start to its messages committed and on disk',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
      registers,
    });
    this.reorderFills = new Counter({ name: 'parley_reorder_fills_total', help: 'Missing changes read back from the database because their publish never arrived in time', registers });
    this.slowConsumers = new Counter({ name: 'parley_slow_consumer_closes_total', help: 'Sockets closed because their send buffer passed WS_SEND_BUFFER_BYTES', registers });
    const reported: Record<string, number> = {};
    const refusals = () => this.#refusals();
    this.connectionsRefused = new Counter({
      name: 'parley_connections_refused_total',
      help: 'TCP connections closed on arrival: HTTP_MAX_CONNECTIONS (reason="total") or HTTP_MAX_CONNECTIONS_PER_ADDRESS (reason="per_address") reached',
      labelNames: ['reason'],
      registers,
      // Counted where connections are taken (src/http/limits.ts); caught up before each scrape.
      collect() {
        for (const [reason, n] of Object.entries(refusals())) {
          this.inc({ reason }, n - (reported[reason] ?? 0));
          reported[reason] = n;
        }
      },
    });
    this.passwordHashes = new Counter({ name: 'parley_password_hashes_total', help: 'argon2 hashes computed or verified (register, login, password change); a throttled login costs none', registers });
    const queued = () => this.passwordHashQueue();
    new Gauge({
      name: 'parley_password_hash_queue',
      help: 'Password hashes waiting for a turn (PASSWORD_HASH_CONCURRENCY run at once)',
      registers,
      collect() {
        this.set(queued());
      },
    });
  }

  readonly connectionsRefused: Counter<'reason'>;

  /**
   * Listener counts of the process's long-lived emitters (the process, the HTTP server) and the
   * sizes of the hub's maps, read when scraped: what a soak watches for growth (scripts/soak).
   */
  watchGrowth(emitters: Readonly<Record<string, EventEmitter>>, hubEntries: () => Readonly<Record<string, number>>): void {
    const registers = [this.registry];
    new Gauge({
      name: 'parley_event_listeners',
      help: 'Listeners registered on a long-lived event emitter, summed over its event names',
      labelNames: ['emitter'],
      registers,
      collect() {
        for (const [name, emitter] of Object.entries(emitters)) {
          let n = 0;
          for (const event of emitter.eventNames()) n += emitter.listenerCount(event);
          this.set({ emitter: name }, n);
        }
      },
    });
    new Gauge({
      name: 'parley_hub_entries',
      help: "Entries in the hub's maps: conversations and users followed, followers, bus subscriptions, frames in flight",
      labelNames: ['map'],
      registers,
      collect() {
        for (const [map, n] of Object.entries(hubEntries())) this.set({ map }, n);
      },
    });
  }
  #refusals: () => Readonly<Record<string, number>> = () => ({});

  /** Where the counts of refused connections come from (the HTTP server, made after the metrics). */
  reportRefusals(counts: () => Readonly<Record<string, number>>): void {
    this.#refusals = counts;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
