import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Bus } from '../../src/backends/bus/bus.js';
import type { DomainEvent } from '../../src/core/events.js';

/** One deployment's buses: one per simulated process (a single one for an in-process bus). */
export interface BusHandle {
  buses: Bus[];
  /**
   * Resolves once every subscribe, unsubscribe and publish called so far has taken effect
   * everywhere (immediately for an in-process bus; a shared bus waits for its round trips).
   */
  settle(): Promise<void>;
  close(): Promise<void>;
}

interface Received {
  channel: string;
  event: DomainEvent;
}

const event = (n: number): DomainEvent => ({ type: 'session.revoked', userId: n });
const channel = () => `test:${randomUUID()}`;

/** The Bus contract (src/backends/bus/bus.ts) against one implementation. */
export function busContract(make: () => Promise<BusHandle>): void {
  let h: BusHandle;
  let got: Received[][];

  beforeEach(async () => {
    h = await make();
    got = h.buses.map(() => []);
    h.buses.forEach((bus, i) => bus.onEvent((ch, ev) => got[i].push({ channel: ch, event: ev })));
  });
  afterEach(async () => {
    await h.close();
  });

  const events = (i: number, ch: string) => got[i].filter((r) => r.channel === ch).map((r) => r.event);

  it('publish delivers to every subscribed process, the publishing one included, once each', async () => {
    const ch = channel();
    for (const bus of h.buses) bus.subscribe(ch);
    await h.settle();
    h.buses[0].publish(ch, event(1));
    await h.settle();
    for (let i = 0; i < h.buses.length; i++) {
      expect(got[i]).toEqual([{ channel: ch, event: event(1) }]);
    }
  });

  it('each process subscribed to the channel receives what any process publishes', async () => {
    const ch = channel();
    for (const bus of h.buses) bus.subscribe(ch);
    await h.settle();
    h.buses.forEach((bus, i) => bus.publish(ch, event(100 + i)));
    await h.settle();
    const all = h.buses.map((_, i) => event(100 + i));
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toEqual(expect.arrayContaining(all));
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toHaveLength(all.length);
  });

  it('subscribing twice still delivers each event at most once', async () => {
    const ch = channel();
    for (const bus of h.buses) {
      bus.subscribe(ch);
      bus.subscribe(ch);
    }
    await h.settle();
    h.buses[h.buses.length - 1].publish(ch, event(2));
    await h.settle();
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toEqual([event(2)]);
  });

  it("one process's events on a channel arrive in publish order", async () => {
    const a = channel();
    const b = channel();
    for (const bus of h.buses) {
      bus.subscribe(a);
      bus.subscribe(b);
    }
    await h.settle();
    const n = 200;
    for (let k = 0; k < n; k++) h.buses[0].publish(k % 3 ? a : b, event(k));
    await h.settle();
    const expectA = Array.from({ length: n }, (_, k) => k).filter((k) => k % 3).map(event);
    const expectB = Array.from({ length: n }, (_, k) => k).filter((k) => !(k % 3)).map(event);
    for (let i = 0; i < h.buses.length; i++) {
      expect(events(i, a)).toEqual(expectA);
      expect(events(i, b)).toEqual(expectB);
    }
  });

  it('a process receives nothing on a channel it never subscribed to', async () => {
    const ch = channel();
    const other = channel();
    // Only the last process subscribes; the others must see nothing.
    h.buses[h.buses.length - 1].subscribe(ch);
    await h.settle();
    for (const bus of h.buses) {
      bus.publish(ch, event(3));
      bus.publish(other, event(4));
    }
    await h.settle();
    for (let i = 0; i < h.buses.length - 1; i++) expect(got[i]).toEqual([]);
    const last = got[h.buses.length - 1];
    expect(last.every((r) => r.channel === ch)).toBe(true);
    expect(last).toHaveLength(h.buses.length);
  });

  it('a process receives nothing on a channel after unsubscribing from it', async () => {
    const ch = channel();
    for (const bus of h.buses) bus.subscribe(ch);
    await h.settle();
    h.buses[0].publish(ch, event(5));
    await h.settle();
    for (const bus of h.buses) bus.unsubscribe(ch);
    await h.settle();
    h.buses[0].publish(ch, event(6));
    await h.settle();
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toEqual([event(5)]);
  });

  it('subscriptions are not counted: subscribe twice, unsubscribe once, and the channel is unsubscribed', async () => {
    const ch = channel();
    for (const bus of h.buses) {
      bus.subscribe(ch);
      bus.subscribe(ch);
      bus.unsubscribe(ch);
    }
    await h.settle();
    h.buses[0].publish(ch, event(7));
    await h.settle();
    for (let i = 0; i < h.buses.length; i++) expect(got[i]).toEqual([]);
    // Subscribing again works after that.
    for (const bus of h.buses) bus.subscribe(ch);
    await h.settle();
    h.buses[0].publish(ch, event(8));
    await h.settle();
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toEqual([event(8)]);
  });

  it('unsubscribing one channel leaves the others subscribed', async () => {
    const keep = channel();
    const drop = channel();
    for (const bus of h.buses) {
      bus.subscribe(keep);
      bus.subscribe(drop);
      bus.unsubscribe(drop);
    }
    await h.settle();
    h.buses[0].publish(drop, event(9));
    h.buses[0].publish(keep, event(10));
    await h.settle();
    for (let i = 0; i < h.buses.length; i++) expect(got[i]).toEqual([{ channel: keep, event: event(10) }]);
  });
}
