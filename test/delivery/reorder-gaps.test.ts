import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/events.js';
import type { GapFiller } from '../../src/delivery/ordering.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, chatSocket, eventually, newUser, openSocket, settle, type TestSocket, pair } from '../helpers/clients.js';

// Issue 15 item 4: two paths of the reorder buffer (SeqOrderer) dropped a message silently.
// Both are provoked on purpose: the bus is made to deliver two events out of order, or to
// lose one, and the gap filler (the store read behind a gap) is made to fail.

const REORDER_WAIT_MS = 50;

/** The real gap filler of the composition root (src/app/app.ts). */
function realFiller(server: TestServer): GapFiller {
  const core = server.parley.core;
  return async (id, after, upTo, newFrom) => core.messages.missedEvents(await core.conversations.refById(id), after, upTo, newFrom);
}

/** The server's bus loses its next publish of a new message (its publisher "died" after the commit). */
function dropNextCreated(server: TestServer) {
  const bus = server.parley.bus;
  const publish = bus.publish.bind(bus);
  bus.publish = (channel, event) => {
    if (event.type === 'message.created') {
      bus.publish = publish;
      return Promise.resolve();
    }
    return publish(channel, event);
  };
}

/** The server's bus delivers the next two new messages of `conversation` the other way round. */
function swapNextTwo(server: TestServer, conversation: number) {
  const bus = server.parley.bus;
  const publish = bus.publish.bind(bus);
  let held: [string, DomainEvent] | null = null;
  bus.publish = (channel, event) => {
    if (event.type !== 'message.created' || event.conversation.id !== conversation) return publish(channel, event);
    if (!held) {
      held = [channel, event];
      return Promise.resolve();
    }
    bus.publish = publish;
    const first = publish(channel, event);
    const second = publish(...held);
    return Promise.all([first, second]).then(() => {});
  };
}

describe.each(databases)('reorder buffer paths that used to drop a message (%s)', (db) => {
  const server = useParley({ db, env: { REORDER_WAIT_MS: String(REORDER_WAIT_MS) } });

  it('a socket that joins without a cursor and gets its first two events out of order shows both, in order', async () => {
    const alice = await newUser(server);
    const bob = await newUser(server);
    const g = await api(server, 'POST', '/api/parley/conversations', { token: alice.token, json: { kind: 'group', title: 'new to bob' } });
    expect(g.status).toBe(201);
    const group = g.body.id as number;
    // Bob's socket follows every conversation of his, and new ones as they come: this one
    // is joined without a cursor when he is added.
    const sb = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(bob.token)}`);
    sb.send({ type: 'subscribe' });
    await sb.next('subscribed');
    expect((await api(server, 'POST', `/api/parley/conversations/${group}/participants`, { token: alice.token, json: { user_id: bob.user.id } })).status).toBeLessThan(300);
    await sb.next('conversation_changed', { where: (f) => f.change === 'created' && f.conversation.id === group });
    // Subscribed once a typing indicator of the room reaches him (not a message: those must come first).
    const typist = await chatSocket(server, alice);
    await eventually(async () => {
      typist.send({ type: 'typing', data: { room_id: group, is_typing: true } });
      await sb.next('typing', { timeoutMs: 100 });
    });

    swapNextTwo(server, group);
    for (const content of ['first', 'second']) {
      expect((await api(server, 'POST', `/api/parley/conversations/${group}/messages`, { token: alice.token, json: { content } })).status).toBe(201);
    }
    await sb.next('message', { where: (f) => f.message.content === 'second', timeoutMs: 5_000 });
    await settle(sb, 2 * REORDER_WAIT_MS);
    expect(sb.all('message').map((f) => [f.message.seq, f.message.content])).toEqual([
      [1, 'first'],
      [2, 'second'],
    ]);
  });

  async function gapRoom() {
    const { a: alice, b: bob, room } = await pair(server);
    // Alice's socket does not follow the room: her acks come straight back, not behind the gap.
    const sa = await chatSocket(server, alice);
    const sb = await chatSocket(server, bob, room);
    const send = async (content: string) => {
      sa.send({ type: 'send_message', data: { room_id: room, content, local_temp_id: content } });
      await sa.next('new_message', { where: (f) => f.data.local_temp_id === content });
    };
    await send('one');
    await sb.next('new_message', { where: (f) => f.data.seq === 1 });
    return { alice, bob, room, sa, sb, send };
  }

  it('a gap whose store read fails is read again until it succeeds, then delivered in order', async () => {
    const { sb, send } = await gapRoom();
    let failures = 0;
    const real = realFiller(server);
    server.parley.hub.setGapFiller(async (...args) => {
      if (++failures <= 2) throw new Error('the database is unavailable');
      return real(...args);
    });
    try {
      dropNextCreated(server);
      await send('two');
      await send('three');
      await sb.next('new_message', { where: (f) => f.data.seq === 3, timeoutMs: 10_000 });
      await settle(sb);
      expect(sb.all('new_message').map((f) => f.data.seq)).toEqual([1, 2, 3]);
      expect(failures).toBe(3);
      expect(sb.ws.readyState).toBe(sb.ws.OPEN);
    } finally {
      server.parley.hub.setGapFiller(real);
    }
  });

  it('a gap that cannot be read at all closes its followers with 1012; resuming from their cursor gets it', async () => {
    const { bob, room, sb, send } = await gapRoom();
    const real = realFiller(server);
    let reads = 0;
    server.parley.hub.setGapFiller(async () => {
      reads++;
      throw new Error('the database is unavailable');
    });
    let closed: { code: number };
    try {
      dropNextCreated(server);
      await send('two');
      await send('three');
      closed = await Promise.race([sb.closed, sb.next('new_message', { where: (f) => f.data.seq === 3, timeoutMs: 10_000 }).then(() => ({ code: -1 }))]);
    } finally {
      server.parley.hub.setGapFiller(real);
    }
    // Not "three" without "two", silently: the socket is told to resync.
    expect(closed.code).toBe(1012);
    expect(reads).toBeGreaterThan(1);
    expect(sb.all('new_message').map((f) => f.data.seq)).toEqual([1]);
    const again: TestSocket = await chatSocket(server, bob, room, '&last_seq=1&last_change_seq=1');
    await again.next('new_message', { where: (f) => f.data.seq === 3 });
    expect(again.all('new_message').map((f) => f.data.seq)).toEqual([2, 3]);
    await send('four');
    await again.next('new_message', { where: (f) => f.data.seq === 4 });
    again.close();
  });
});
