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
  /** Every process subscribes to the channels in order; resolves once that took effect everywhere. */
  const subscribeAll = async (...channels: string[]) => {
    for (const bus of h.buses) for (const ch of channels) bus.subscribe(ch);
    await h.settle();
  };
  /** The first process publishes; resolves once the event has arrived wherever it goes. */
  const publishFromFirst = async (ch: string, e: DomainEvent) => {
    h.buses[0].publish(ch, e);
    await h.settle();
  };
  /** Each process received exactly these events on the channel. */
  const expectEachGot = (ch: string, expected: DomainEvent[]) => {
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toEqual(expected);
  };

  it('publish delivers to every subscribed process, the publishing one included, once each', async () => {
    const ch = channel();
    await subscribeAll(ch);
    await publishFromFirst(ch, event(1));
    for (let i = 0; i < h.buses.length; i++) {
      expect(got[i]).toEqual([{ channel: ch, event: event(1) }]);
    }
  });

  it('each process subscribed to the channel receives what any process publishes', async () => {
    const ch = channel();
    await subscribeAll(ch);
    h.buses.forEach((bus, i) => bus.publish(ch, event(100 + i)));
    await h.settle();
    const all = h.buses.map((_, i) => event(100 + i));
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toEqual(expect.arrayContaining(all));
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toHaveLength(all.length);
  });

  it('once subscribe has resolved, what any process publishes next on the channel is delivered', async () => {
    const ch = channel();
    // No settle: awaiting subscribe alone must be enough (the hub's replay relies on it).
    await Promise.all(h.buses.map((bus) => bus.subscribe(ch)));
    h.buses.forEach((bus, i) => bus.publish(ch, event(300 + i)));
    await h.settle();
    const all = h.buses.map((_, i) => event(300 + i));
    for (let i = 0; i < h.buses.length; i++) expect(events(i, ch)).toEqual(expect.arrayContaining(all));
    // Subscribing again to a followed channel resolves too.
    await h.buses[0].subscribe(ch);
  });

  it('subscribing twice still delivers each event at most once', async () => {
    const ch = channel();
    await subscribeAll(ch, ch);
    h.buses[h.buses.length - 1].publish(ch, event(2));
    await h.settle();
    expectEachGot(ch, [event(2)]);
  });

  // Cache invalidation relies on it: a change is acknowledged once its publish resolved, and
  // whatever the client does next (through any process) comes after the event everywhere.
  it('once publish has resolved, an event published next by any process arrives after it, on every process', async () => {
    const first = channel();
    const next = channel();
    await subscribeAll(first, next);
    for (let k = 0; k < 20; k++) {
      await h.buses[0].publish(first, event(1000 + k));
      await h.buses[h.buses.length - 1].publish(next, event(2000 + k));
    }
    await h.settle();
    for (let i = 0; i < h.buses.length; i++) {
      const order = got[i].filter((r) => r.channel === first || r.channel === next).map((r) => (r.event as { userId: number }).userId);
      expect(order).toEqual(Array.from({ length: 20 }, (_, k) => [1000 + k, 2000 + k]).flat());
    }
  });

  it("one process's events on a channel arrive in publish order", async () => {
    const a = channel();
    const b = channel();
    await subscribeAll(a, b);
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
    await subscribeAll(ch);
    await publishFromFirst(ch, event(5));
    for (const bus of h.buses) bus.unsubscribe(ch);
    await h.settle();
    await publishFromFirst(ch, event(6));
    expectEachGot(ch, [event(5)]);
  });

  it('subscriptions are not counted: subscribe twice, unsubscribe once, and the channel is unsubscribed', async () => {
    const ch = channel();
    for (const bus of h.buses) {
      bus.subscribe(ch);
      bus.subscribe(ch);
      bus.unsubscribe(ch);
    }
    await h.settle();
    await publishFromFirst(ch, event(7));
    for (let i = 0; i < h.buses.length; i++) expect(got[i]).toEqual([]);
    // Subscribing again works after that.
    await subscribeAll(ch);
    await publishFromFirst(ch, event(8));
    expectEachGot(ch, [event(8)]);
  });

  it('an event arrives as an equal plain object (events cross processes as JSON)', async () => {
    const ch = channel();
    await subscribeAll(ch);
    const sender = { id: 7, uuid: '0192a3b4-0000-7000-8000-000000000007', name: 'Zoë «quoted» \u{1F600}', email: 'z@example.com', avatarUrl: null };
    const full: DomainEvent = {
      type: 'message.created',
      origin: 'conn-1',
      conversation: { id: 3, uuid: '0192a3b4-0000-7000-8000-000000000003', tenantId: 1, kind: 'direct', pair: [sender, { ...sender, id: 8 }] },
      message: {
        id: 12,
        uuid: '0192a3b4-0000-7000-8000-000000000012',
        conversationId: 3,
        seq: 5,
        changeSeq: 9,
        senderId: 7,
        kind: 'text',
        content: 'line one\nline "two"',
        replyToId: null,
        replyToUuid: null,
        clientId: 'tmp-1',
        createdAt: 1_700_000_000_123,
        editedAt: null,
        deletedAt: null,
        attachments: [],
        reactions: [{ emoji: '👍', userIds: [8] }],
        replyCount: 0,
      },
      sender,
      localTempId: 'tmp-1',
    };
    h.buses[0].publish(ch, full);
    await h.settle();
    expectEachGot(ch, [full]);
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
