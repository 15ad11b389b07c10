import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { api, newUser, openSocket, settle, type TestSocket, type TestUser } from '../helpers/clients.js';
import { record, registered, type ServerRef } from '../sdk/support.js';

// Parley's `subscribe` (issue 15, items 2 and 3), with the race made to happen on purpose: a
// hook holds the subscribe open after it has read the user's conversations, before it joins
// one of them, and another user changes that conversation meanwhile.

async function parleySocket(server: TestServer, user: Pick<TestUser, 'token'>): Promise<TestSocket> {
  const s = await openSocket(`${server.wsUrl}/api/parley/ws?token=${encodeURIComponent(user.token)}`);
  await s.next('ready');
  return s;
}

async function group(server: TestServer, owner: TestUser, members: TestUser[], title: string): Promise<number> {
  const r = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title, member_ids: members.map((m) => m.user.id) } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}

async function send(server: TestServer, u: TestUser, conversation: number, content: string) {
  const r = await api(server, 'POST', `/api/parley/conversations/${conversation}/messages`, { token: u.token, json: { content } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body as { id: number; seq: number; change_seq: number };
}

/** Runs `fn` once, when the subscribe in flight is about to join `conversation`. */
function atJoin(server: TestServer, conversation: number, fn: () => Promise<void>) {
  const hooks = server.parley.core.hooks;
  hooks.subscribeJoin = async (id) => {
    if (id !== conversation) return;
    hooks.subscribeJoin = undefined;
    await fn();
  };
}

describe.each(databases)('subscribe while conversations change (%s)', (db) => {
  const server = useParley({ db });
  afterEach(() => {
    server.parley.core.hooks.subscribeJoin = undefined;
  });

  for (const change of ['deleted', 'removed'] as const)
    for (const withCursors of [true, false]) {
      it(`a conversation ${change} between the list and its join is answered as gone; the others are joined (${withCursors ? 'with' : 'without'} cursors)`, async () => {
        const alice = await newUser(server);
        const bob = await newUser(server);
        const [g1, g2, g3] = [await group(server, alice, [bob], 'one'), await group(server, alice, [bob], 'two'), await group(server, alice, [bob], 'three')];
        for (const g of [g1, g2, g3]) await send(server, alice, g, `hello ${g}`);
        atJoin(server, g2, async () => {
          const r =
            change === 'deleted'
              ? await api(server, 'DELETE', `/api/parley/conversations/${g2}`, { token: alice.token })
              : await api(server, 'DELETE', `/api/parley/conversations/${g2}/participants/${bob.user.id}`, { token: alice.token });
          expect(r.status).toBeLessThan(300);
        });
        const sb = await parleySocket(server, bob);
        sb.send({ type: 'subscribe', ...(withCursors ? { cursors: [g1, g2, g3].map((id) => ({ conversation_id: id, last_seq: 1, last_change_seq: 1 })) } : {}) });
        const answer = await sb.next('subscribed', { timeoutMs: 10_000 });
        expect(answer.conversations.map((c: { id: number }) => c.id).sort()).toEqual([g1, g3].sort());
        expect(answer.gone).toEqual([g2]);
        expect(sb.all('error')).toEqual([]);
        // Live in the others; nothing of the one that is gone.
        await send(server, alice, g3, 'after');
        expect((await sb.next('message', { where: (f) => f.message.content === 'after' })).conversation_id).toBe(g3);
        await settle(sb);
        expect(sb.all('message').filter((f) => f.conversation_id === g2)).toEqual([]);
        sb.close();
      });
    }

  it('property: whatever happens to the conversations while a subscribe runs, it is answered, for every one, and each followed one is exact', async () => {
    type Act = { kind: 'send' | 'delete' | 'remove'; target: number };
    const act: fc.Arbitrary<Act> = fc.record({ kind: fc.constantFrom('send' as const, 'send' as const, 'delete' as const, 'remove' as const), target: fc.nat(3) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.nat(2), { nil: undefined }), { minLength: 4, maxLength: 4 }),
        fc.nat(3),
        fc.array(act, { minLength: 1, maxLength: 4 }),
        async (behind, at, acts) => {
          const alice = await newUser(server);
          const bob = await newUser(server);
          const groups: number[] = [];
          for (let i = 0; i < 4; i++) groups.push(await group(server, alice, [bob], `g${i}`));
          for (const g of groups) for (let k = 0; k < 3; k++) await send(server, alice, g, `${g} old ${k}`);
          // A cursor `behind` messages back, or none.
          const cursors = groups.flatMap((g, i) => (behind[i] === undefined ? [] : [{ conversation_id: g, last_seq: 3 - behind[i]!, last_change_seq: 3 - behind[i]! }]));
          const gone = new Set<number>();
          atJoin(server, groups[at], async () => {
            for (const a of acts) {
              const g = groups[a.target];
              if (gone.has(g)) continue;
              if (a.kind === 'send') await send(server, alice, g, `${g} during`);
              else {
                const path = a.kind === 'delete' ? `/api/parley/conversations/${g}` : `/api/parley/conversations/${g}/participants/${bob.user.id}`;
                expect((await api(server, 'DELETE', path, { token: alice.token })).status).toBeLessThan(300);
                gone.add(g);
              }
            }
          });
          const sb = await parleySocket(server, bob);
          sb.send({ type: 'subscribe', cursors });
          const answer = await sb.next('subscribed', { timeoutMs: 10_000 });
          expect(sb.all('error')).toEqual([]);
          const followed = new Map<number, { last_seq: number }>(answer.conversations.map((c: { id: number; last_seq: number }) => [c.id, c]));
          // Every conversation answered once: followed, or gone.
          expect([...followed.keys(), ...answer.gone].sort()).toEqual([...groups].sort());
          for (const g of answer.gone) expect(gone.has(g)).toBe(true);
          for (const g of groups) if (!gone.has(g)) expect(followed.has(g)).toBe(true);
          // Each followed one: every message after its cursor (without one: after the list was
          // read), once, in order, through to a live one sent now; the position reported lies
          // within (the socket was joined there).
          for (const [g, c] of followed) {
            if (gone.has(g)) continue;
            const from = cursors.find((x) => x.conversation_id === g)?.last_seq ?? 3;
            const last = (await send(server, alice, g, 'after')).seq;
            await sb.next('message', { where: (f) => f.conversation_id === g && f.message.content === 'after' });
            const got = sb.all('message').filter((f) => f.conversation_id === g).map((f) => f.message.seq);
            expect(got, `conversation ${g}`).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
            expect(c.last_seq).toBeGreaterThanOrEqual(from);
            expect(c.last_seq).toBeLessThan(last);
          }
          sb.close();
        },
      ),
      { numRuns: 10, seed: 15_2 },
    );
  }, 180_000);

  it('cursors of conversations that are no longer the user’s are answered as gone', async () => {
    const alice = await newUser(server);
    const bob = await newUser(server);
    const g = await group(server, alice, [bob], 'kept');
    const old = await group(server, alice, [bob], 'deleted while away');
    expect((await api(server, 'DELETE', `/api/parley/conversations/${old}`, { token: alice.token })).status).toBeLessThan(300);
    const sb = await parleySocket(server, bob);
    sb.send({ type: 'subscribe', cursors: [{ conversation_id: g, last_seq: 0 }, { conversation_id: old, last_seq: 0 }] });
    const answer = await sb.next('subscribed');
    expect(answer.conversations.map((c: { id: number }) => c.id)).toEqual([g]);
    expect(answer.gone).toEqual([old]);
    sb.close();
  });

  it('without a cursor: a message committed between the list and the join reaches the socket once, and `subscribed` reports the seq joined at', async () => {
    const alice = await newUser(server);
    const bob = await newUser(server);
    const g = await group(server, alice, [bob], 'busy');
    await send(server, alice, g, 'before');
    // Another of Bob's devices follows the room on this process already: its events flow
    // through here while the new socket has not joined yet.
    const other = await parleySocket(server, bob);
    other.send({ type: 'subscribe' });
    await other.next('subscribed');
    let between: { seq: number; change_seq: number } | undefined;
    atJoin(server, g, async () => {
      between = await send(server, alice, g, 'between');
    });
    const sb = await parleySocket(server, bob);
    sb.send({ type: 'subscribe' });
    const answer = await sb.next('subscribed', { timeoutMs: 10_000 });
    expect(between).toMatchObject({ seq: 2 });
    expect(answer.conversations).toEqual([{ id: g, last_seq: 2, change_seq: between!.change_seq }]);
    expect(sb.all('message').map((f) => f.message.content)).toEqual(['between']);
    await send(server, alice, g, 'after');
    await sb.next('message', { where: (f) => f.message.content === 'after' });
    await settle(sb);
    expect(sb.all('message').map((f) => [f.message.seq, f.message.content])).toEqual([
      [2, 'between'],
      [3, 'after'],
    ]);
    sb.close();
    other.close();
  });
});

describe('the SDK subscribing while conversations change', () => {
  const server = useParley();
  let ref: ServerRef;
  const clients: { disconnect(): void }[] = [];
  beforeAll(async () => {
    ref = { url: server.url };
  });
  afterEach(() => {
    server.parley.core.hooks.subscribeJoin = undefined;
    for (const c of clients.splice(0)) c.disconnect();
  });

  it('a conversation deleted during its resubscribe: online at once, the others live, that one forgotten', async () => {
    const ann = await registered(ref, 'Ann');
    const bob = await registered(ref, 'Bob');
    clients.push(ann, bob);
    const g1 = await ann.createGroup('one', [bob.user!.id]);
    const g2 = await ann.createGroup('two', [bob.user!.id]);
    await ann.send(g1.id, { content: 'one' }, { via: 'rest' }).promise;
    await ann.send(g2.id, { content: 'two' }, { via: 'rest' }).promise;
    // Bob knows both (cursors), then resubscribes while Ann deletes one of them.
    await bob.listConversations();
    atJoin(server, g1.id, async () => {
      await ann.deleteConversation(g1.id);
    });
    const rb = record(bob);
    await Promise.race([bob.connect(), new Promise((_, reject) => setTimeout(() => reject(new Error('the SDK stayed subscribing')), 5_000))]);
    expect(rb.of('status').filter((s) => s.status === 'online')).toHaveLength(1);
    expect(bob.state.conversation(g1.id)).toBeUndefined();
    expect(bob.state.conversation(g2.id)).toBeDefined();
    await ann.send(g2.id, { content: 'live' }, { via: 'rest' }).promise;
    await expect.poll(() => rb.of('message').map((f) => f.message.content)).toContain('live');
  });

  it('a subscribe that is never answered: the SDK gives up after subscribeTimeoutMs and subscribes again', async () => {
    const ann = await registered(ref, 'Ann');
    const bob = await registered(ref, 'Bob', { subscribeTimeoutMs: 300 });
    clients.push(ann, bob);
    const g = await ann.createGroup('stuck', [bob.user!.id]);
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    atJoin(server, g.id, () => stuck);
    const rb = record(bob);
    try {
      await Promise.race([bob.connect(), new Promise((_, reject) => setTimeout(() => reject(new Error('never online')), 10_000))]);
    } finally {
      release();
    }
    const statuses = rb.of('status');
    expect(statuses.some((s) => s.status === 'offline' && /subscribe/.test(s.reason ?? ''))).toBe(true);
    expect(statuses.at(-1)?.status).toBe('online');
    await ann.send(g.id, { content: 'live' }, { via: 'rest' }).promise;
    await expect.poll(() => rb.of('message').map((f) => f.message.content)).toContain('live');
  });

  it('without a cursor, a message committed between the list and the join is emitted once', async () => {
    const ann = await registered(ref, 'Ann');
    const bob = await registered(ref, 'Bob');
    clients.push(ann, bob);
    const g = await ann.createGroup('busy', [bob.user!.id]);
    await ann.connect();
    atJoin(server, g.id, async () => {
      await ann.send(g.id, { content: 'between' }, { via: 'rest' }).promise;
    });
    const rb = record(bob);
    await bob.connect();
    await expect.poll(() => rb.of('message').map((f) => f.message.content)).toEqual(['between']);
    await ann.send(g.id, { content: 'after' }).promise;
    await expect.poll(() => rb.of('message').map((f) => f.message.content)).toEqual(['between', 'after']);
  });
});
